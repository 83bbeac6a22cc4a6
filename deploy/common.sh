# Shared by kafka.sh and postgres.sh (sourced, not run).
# Both run Java main classes from the Maven artifacts of services/fleet-infra: no installed Kafka or PostgreSQL.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODULE=$ROOT/services/fleet-infra
# Data dirs, pid files, logs and env files all live here; kept across restarts.
BASE=${COALORA_DEPLOY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coalora/deploy}

# The classpath: target/classes plus the jars Maven resolved (built once, on first use).
classpath() {
  if [[ ! -f $MODULE/target/classpath.txt || ! -d $MODULE/target/classes ]]; then
    echo "building services/fleet-infra (first run) ..." >&2
    (cd "$ROOT" && ./mvnw -q -B -DskipTests -pl services/fleet-infra -am install) >&2
  fi
  echo "$MODULE/target/classes:$(cat "$MODULE/target/classpath.txt")"
}

# is_running PIDFILE: the process in PIDFILE is alive (a killed, not yet reaped zombie is not).
is_running() {
  local state
  [[ -f $1 ]] && state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) && [[ $state != Z* ]]
}

# stop_pid NAME PIDFILE: SIGTERM (the JVM's shutdown hook stops the server cleanly), SIGKILL after 60 s.
stop_pid() {
  local name=$1 pidfile=$2 pid
  if ! is_running "$pidfile"; then
    echo "$name is not running"
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 600); do
    is_running "$pidfile" || break
    sleep 0.1
  done
  if is_running "$pidfile"; then
    echo "$name (pid $pid) did not stop within 60 s; killing it" >&2
    kill -KILL "$pid"
  fi
  rm -f "$pidfile"
  echo "$name stopped"
}

# status NAME PIDFILE ENVFILE: exit 0 and print the env line when running, exit 1 otherwise.
status() {
  local name=$1 pidfile=$2 envfile=$3
  if is_running "$pidfile"; then
    echo "$name is running (pid $(cat "$pidfile")): $(cat "$envfile" 2>/dev/null)"
  else
    echo "$name is not running"
    return 1
  fi
}

# started NAME PIDFILE ENVFILE LOGFILE: how to use what just started.
started() {
  local name=$1 pidfile=$2 envfile=$3 logfile=$4
  echo "$name started (pid $(cat "$pidfile")); log: $logfile"
  echo "Point the services at it:"
  sed 's/^/  export /' "$envfile"
  echo "(or: set -a; . $envfile; set +a)"
}

# fail_start NAME PIDFILE LOGFILE: the server did not come up; stop what is left of it and show why.
fail_start() {
  stop_pid "$1" "$2" > /dev/null
  echo "$1 did not start; last lines of $3:" >&2
  tail -n 30 "$3" >&2
  exit 1
}
