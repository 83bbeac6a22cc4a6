#!/usr/bin/env bash
# PostgreSQL on 127.0.0.1 (user postgres, no password), run in the background from the binaries packaged in
# the Maven artifact io.zonky.test:embedded-postgres, through FleetInfraMain --postgres.
#
#   deploy/postgres.sh start|stop|status
#
# POSTGRES_PORT (default 15432: 5432 is often taken by a system PostgreSQL),
# COALORA_DEPLOY_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/coalora/deploy): data in postgres/, postgres.pid, .log, .env.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT=${POSTGRES_PORT:-15432}
DATA=$BASE/postgres
PIDFILE=$BASE/postgres.pid LOGFILE=$BASE/postgres.log ENVFILE=$BASE/postgres.env

# pg_ctl starts the postmaster as its own process: if the JVM was killed, the server outlives it.
# SIGINT is PostgreSQL's fast shutdown.
stop_stray_postmaster() {
  local pid
  [[ -f $DATA/postmaster.pid ]] || return 0
  pid=$(head -n 1 "$DATA/postmaster.pid")
  if kill -0 "$pid" 2>/dev/null; then
    echo "stopping a PostgreSQL left running (pid $pid)" >&2
    kill -INT "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

start() {
  if is_running "$PIDFILE"; then
    status postgres "$PIDFILE" "$ENVFILE"
    return 0
  fi
  local cp
  cp=$(classpath)
  stop_stray_postmaster
  mkdir -p "$BASE"
  rm -f "$ENVFILE"
  nohup java -Xmx256m -cp "$cp" ai.coalora.fleet.infra.FleetInfraMain --postgres \
    --data "$BASE" --postgres-port "$PORT" --env-file "$ENVFILE" >> "$LOGFILE" 2>&1 &
  echo $! > "$PIDFILE"
  # FleetInfraMain writes the env file once the server accepts connections (initdb on first start: seconds).
  for _ in $(seq 1200); do
    [[ -f $ENVFILE ]] && break
    is_running "$PIDFILE" || fail_start postgres "$PIDFILE" "$LOGFILE"
    sleep 0.1
  done
  [[ -f $ENVFILE ]] || fail_start postgres "$PIDFILE" "$LOGFILE"
  started postgres "$PIDFILE" "$ENVFILE" "$LOGFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid postgres "$PIDFILE"; stop_stray_postmaster ;;
  status) status postgres "$PIDFILE" "$ENVFILE" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
