#!/usr/bin/env bash
# The registry, planner, adapter-generator and trainer as background processes of their packaged applications,
# pointed at whatever Kafka and PostgreSQL the environment names (external ones, or kafka.sh/postgres.sh).
#
#   deploy/services.sh start|stop|status
#
# Reads KAFKA_BOOTSTRAP_SERVERS, KAFKA_CREDENTIALS_DIR and COALORA_JDBC_URL from the environment, else from the env
# files that kafka.sh and postgres.sh wrote. Each service logs in to Kafka as its own principal: KAFKA_SASL_USERNAME is
# its name, KAFKA_SASL_PASSWORD the content of KAFKA_CREDENTIALS_DIR/<service>.password (owner-only, made by kafka.sh),
# handed over in the service's environment only. Ports: REGISTRY_HTTP_PORT (8080), PLANNER_HTTP_PORT (8081),
# GENERATOR_HTTP_PORT (8082), TRAINER_HTTP_PORT (8083). Blobs in COALORA_BLOB_DIR (default $COALORA_DEPLOY_DIR/blobs).
# Package-signing keys: $COALORA_DEPLOY_DIR/keys (./coalora keys; devices pin keys/root-key.pub), unless
# COALORA_SIGNING_KEY_FILE names the generator's key. Accounts: $COALORA_DEPLOY_DIR/users (PBKDF2 hashes only). The first start creates admin, operator and viewer
# with random passwords and prints them once; every start gives the services' own accounts fresh passwords.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SERVICES=(registry planner adapter-generator trainer)
USERS=$BASE/users
declare -A SERVICE_PASSWORD

random_password() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

# users_line NAME ROLE PASSWORD: the users-file line (the password goes through stdin, never the command line)
users_line() { printf '%s\n' "$3" | "$ROOT/coalora" hash-password "$1" "$2"; }

# People's accounts once; the services' accounts (svc-*) rotated at every start.
prepare_users() {
  mkdir -p "$BASE"
  if [[ ! -f $USERS ]]; then
    local admin operator viewer
    admin=$(random_password) operator=$(random_password) viewer=$(random_password)
    (umask 077; { echo "# coalora accounts: name:role:pbkdf2-sha256 hash (./coalora hash-password NAME ROLE adds one)"
      users_line admin admin "$admin"; users_line operator operator "$operator"; users_line viewer viewer "$viewer"; } > "$USERS.tmp")
    mv "$USERS.tmp" "$USERS"
    echo "created $USERS; logins (shown once, only hashes are kept): admin / $admin   operator / $operator   viewer / $viewer"
  fi
  local role
  (umask 077; grep -v '^svc-' "$USERS" > "$USERS.tmp")
  for s in planner adapter-generator trainer registry; do
    case $s in adapter-generator) role=operator ;; trainer) role=trainer ;; *) role=viewer ;; esac
    SERVICE_PASSWORD[$s]=$(random_password)
    users_line "svc-$s" "$role" "${SERVICE_PASSWORD[$s]}" >> "$USERS.tmp"
  done
  mv "$USERS.tmp" "$USERS"
}
port_of() {
  case $1 in
    registry) echo "${REGISTRY_HTTP_PORT:-8080}" ;;
    planner) echo "${PLANNER_HTTP_PORT:-8081}" ;;
    adapter-generator) echo "${GENERATOR_HTTP_PORT:-8082}" ;;
    trainer) echo "${TRAINER_HTTP_PORT:-8083}" ;;
  esac
}

start() {
  [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} && -f $BASE/kafka.env ]] && { set -a; . "$BASE/kafka.env"; set +a; }
  [[ -z ${COALORA_JDBC_URL:-} && -f $BASE/postgres.env ]] && { set -a; . "$BASE/postgres.env"; set +a; }
  : "${KAFKA_BOOTSTRAP_SERVERS:?set it, or run deploy/kafka.sh start first}"
  : "${KAFKA_CREDENTIALS_DIR:?set it (a directory of <service>.password files), or run deploy/kafka.sh start first}"
  for s in "${SERVICES[@]}"; do
    [[ -r $KAFKA_CREDENTIALS_DIR/$s.password ]] || { echo "no Kafka password for $s: $KAFKA_CREDENTIALS_DIR/$s.password" >&2; exit 1; }
  done
  : "${COALORA_JDBC_URL:?set it, or run deploy/postgres.sh start first}"
  if [[ ! -f $ROOT/services/adapter-generator/target/quarkus-app/quarkus-run.jar ]]; then
    echo "building the services (first run) ..." >&2
    (cd "$ROOT" && ./mvnw -q -B -DskipTests install) >&2
  fi
  export REGISTRY_HTTP_PORT=$(port_of registry) PLANNER_HTTP_PORT=$(port_of planner) GENERATOR_HTTP_PORT=$(port_of adapter-generator) TRAINER_HTTP_PORT=$(port_of trainer)
  export COALORA_REGISTRY_URL=${COALORA_REGISTRY_URL:-http://127.0.0.1:$REGISTRY_HTTP_PORT}
  export COALORA_BLOB_DIR=${COALORA_BLOB_DIR:-$BASE/blobs} COALORA_GENERATOR_DIR=${COALORA_GENERATOR_DIR:-$BASE/generator} COALORA_TRAINER_DIR=${COALORA_TRAINER_DIR:-$BASE/trainer}
  export OPT_OUT_TRACKING=true COALORA_USERS_FILE=$USERS
  # package-signing keys: created once; the generator signs with the online key, devices pin keys/root-key.pub
  if [[ -z ${COALORA_SIGNING_KEY_FILE:-} ]]; then
    [[ -f $BASE/keys/signing-key.json ]] || "$ROOT/coalora" keys init "$BASE/keys"
    export COALORA_SIGNING_KEY_FILE=$BASE/keys/signing-key.json
  fi
  local running=0
  for s in "${SERVICES[@]}"; do is_running "$BASE/$s.pid" && running=$((running + 1)); done
  if (( running == ${#SERVICES[@]} )); then echo "all services are already running"; return 0; fi
  # the services' accounts get new passwords below, which running services would not know
  (( running == 0 )) || { echo "some services are running: deploy/services.sh stop first" >&2; exit 1; }
  prepare_users
  # each service its own database role owning its schema only (deploy/k8s/db-roles.sql), re-keyed at every start;
  # provisioned as the superuser COALORA_DB_SUPERUSER (default postgres, no password: deploy/postgres.sh's)
  declare -A DB_USER DB_PASSWORD
  local database=${COALORA_JDBC_URL##*/} svc user pass
  database=${database%%\?*}
  while read -r svc user pass; do DB_USER[$svc]=$user DB_PASSWORD[$svc]=$pass; done < <(
    java -cp "$(classpath)" ai.coalora.fleet.infra.DatabaseRoles "$COALORA_JDBC_URL" "$database" "${SERVICES[@]}")
  for s in "${SERVICES[@]}"; do
    [[ -n ${DB_USER[$s]:-} ]] || { echo "could not make the database role of $s" >&2; exit 1; }
  done
  for s in "${SERVICES[@]}"; do
    local heap=-Xmx512m
    [[ $s == adapter-generator || $s == trainer ]] && heap="-Xmx3g -Dai.djl.offline=true"
    # shellcheck disable=SC2086
    COALORA_REGISTRY_USER=svc-$s COALORA_REGISTRY_PASSWORD=${SERVICE_PASSWORD[$s]} \
      COALORA_JDBC_USER=${DB_USER[$s]} COALORA_JDBC_PASSWORD=${DB_PASSWORD[$s]} \
      KAFKA_SASL_USERNAME=$s KAFKA_SASL_PASSWORD=$(< "$KAFKA_CREDENTIALS_DIR/$s.password") \
      nohup java $heap -jar "$ROOT/services/$s/target/quarkus-app/quarkus-run.jar" >> "$BASE/$s.log" 2>&1 &
    echo $! > "$BASE/$s.pid"
  done
  for s in "${SERVICES[@]}"; do
    local url="http://127.0.0.1:$(port_of "$s")/q/health/ready"
    for _ in $(seq 1200); do
      curl -sf "$url" > /dev/null && break
      is_running "$BASE/$s.pid" || fail_start "$s" "$BASE/$s.pid" "$BASE/$s.log"
      sleep 0.25
    done
    curl -sf "$url" > /dev/null || fail_start "$s" "$BASE/$s.pid" "$BASE/$s.log"
    echo "$s ready on http://127.0.0.1:$(port_of "$s") (log: $BASE/$s.log)"
  done
  echo "registry API: $COALORA_REGISTRY_URL/api/fleet/summary   OpenAPI: $COALORA_REGISTRY_URL/openapi   dashboard: $COALORA_REGISTRY_URL/dashboard/"
  echo "(HTTP Basic with an account of $USERS; add one: ./coalora hash-password NAME ROLE >> $USERS, then restart)"
}

case "${1:-}" in
  start) start ;;
  stop) for s in "${SERVICES[@]}"; do stop_pid "$s" "$BASE/$s.pid"; done ;;
  status) rc=0; for s in "${SERVICES[@]}"; do
            if is_running "$BASE/$s.pid"; then echo "$s is running (pid $(cat "$BASE/$s.pid")) on port $(port_of "$s")"; else echo "$s is not running"; rc=1; fi
          done; exit $rc ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
