#!/usr/bin/env bash
# A single-node Kafka broker (KRaft: broker and controller in one process) on 127.0.0.1, run in the
# background with the real kafka.Kafka main from the Maven artifacts (org.apache.kafka:kafka_2.13).
#
#   deploy/kafka.sh start|stop|status
#
# KAFKA_PORT (default 9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP_OPTS (-Xmx1g),
# COALORA_DEPLOY_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/coalora/deploy): data in kafka/, kafka.pid, kafka.log, kafka.env.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
DATA=$BASE/kafka
PIDFILE=$BASE/kafka.pid LOGFILE=$BASE/kafka.log ENVFILE=$BASE/kafka.env

# The same settings as EmbeddedKafka.serverProperties (keep them in step): one node, so internal topics
# have one replica; topics are created explicitly; no rebalance delay.
write_config() {
  cat > "$DATA/server.properties" <<PROPS
# written by deploy/kafka.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/log
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
num.partitions=1
PROPS
}

start() {
  if is_running "$PIDFILE"; then
    status kafka "$PIDFILE" "$ENVFILE"
    return 0
  fi
  local cp
  cp=$(classpath)
  mkdir -p "$DATA"
  write_config
  # Format the log dir once; a formatted one keeps its cluster id and data.
  if [[ ! -f $DATA/log/meta.properties ]]; then
    java -cp "$cp" kafka.tools.StorageTool format \
      --cluster-id "$(java -cp "$cp" kafka.tools.StorageTool random-uuid)" \
      --config "$DATA/server.properties" >> "$LOGFILE" 2>&1 || fail_start kafka "$PIDFILE" "$LOGFILE"
  fi
  echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$PORT" > "$ENVFILE"
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS may hold several flags
  nohup java ${KAFKA_HEAP_OPTS:--Xmx1g} -cp "$cp" kafka.Kafka "$DATA/server.properties" >> "$LOGFILE" 2>&1 &
  echo $! > "$PIDFILE"
  # Ready = the broker answers describeCluster (an open port alone comes before the broker is unfenced);
  # give up early if the broker dies (a port in use, a bad data dir).
  java -cp "$cp" ai.coalora.fleet.infra.EmbeddedKafka await "127.0.0.1:$PORT" 60 > /dev/null 2>&1 &
  local waiter=$!
  while kill -0 "$waiter" 2>/dev/null; do
    is_running "$PIDFILE" || { kill "$waiter"; fail_start kafka "$PIDFILE" "$LOGFILE"; }
    sleep 0.2
  done
  wait "$waiter" || fail_start kafka "$PIDFILE" "$LOGFILE"
  started kafka "$PIDFILE" "$ENVFILE" "$LOGFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid kafka "$PIDFILE" ;;
  status) status kafka "$PIDFILE" "$ENVFILE" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
