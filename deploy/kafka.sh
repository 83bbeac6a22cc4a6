#!/usr/bin/env bash
# A single-node Kafka broker (KRaft: broker and controller in one process) on 127.0.0.1, run in the
# background from the Maven artifacts (org.apache.kafka:kafka_2.13), through FleetInfraMain --kafka.
# The broker is closed: every client logs in with SASL SCRAM-SHA-512 and ACLs grant each service's principal its
# own topics only (ai.coalora.fleet.events.ServiceTopics). At every start FleetInfraMain creates the topics, one
# user per service with its ACLs, and keeps the passwords (owner-only) in kafka/credentials/: admin.password (the
# super user, bootstrapped when the data is formatted) and <service>.password, which services.sh hands to each service.
#
#   deploy/kafka.sh start|stop|status
#
# KAFKA_PORT (default 9092), KAFKA_HEAP_OPTS (-Xmx1g),
# COALORA_DEPLOY_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/coalora/deploy): data in kafka/, kafka.pid, kafka.log, kafka.env.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT=${KAFKA_PORT:-9092}
DATA=$BASE/kafka
PIDFILE=$BASE/kafka.pid LOGFILE=$BASE/kafka.log ENVFILE=$BASE/kafka.env

start() {
  if is_running "$PIDFILE"; then
    status kafka "$PIDFILE" "$ENVFILE"
    return 0
  fi
  local cp
  cp=$(classpath)
  mkdir -p "$BASE"
  rm -f "$ENVFILE"
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS may hold several flags
  nohup java ${KAFKA_HEAP_OPTS:--Xmx1g} -cp "$cp" ai.coalora.fleet.infra.FleetInfraMain --kafka \
    --data "$BASE" --kafka-port "$PORT" --env-file "$ENVFILE" >> "$LOGFILE" 2>&1 &
  echo $! > "$PIDFILE"
  # FleetInfraMain writes the env file once the broker answers its admin and the principals exist (the format on
  # first start: seconds); give up early if it dies (a port in use, a data dir from an unauthenticated broker).
  for _ in $(seq 1200); do
    [[ -f $ENVFILE ]] && break
    is_running "$PIDFILE" || fail_start kafka "$PIDFILE" "$LOGFILE"
    sleep 0.1
  done
  [[ -f $ENVFILE ]] || fail_start kafka "$PIDFILE" "$LOGFILE"
  started kafka "$PIDFILE" "$ENVFILE" "$LOGFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid kafka "$PIDFILE" ;;
  status) status kafka "$PIDFILE" "$ENVFILE" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
