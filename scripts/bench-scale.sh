#!/usr/bin/env bash
# `make bench-scale`: Keyward on a store of a million keys (docs/operating/performance.md).
#
# Everything it uses is its own, on loopback, and stopped and removed at the end
# (trap), whatever happens: a throw-away PostgreSQL (scripts/pg.sh) filled in bulk by
# `keyward-bench scale-load` (COPY: keys, audit rows, a year of usage rows), a Keycloak
# with the dev realm (scripts/keycloak.sh) whose identity provider trusts this bench's
# Keyward (KEYWARD_PUBLIC_URL is its address: the dev stack's Keycloak trusts the dev
# stack's Keyward, whose signing keys this store does not hold), and one Keyward with
# the token cache on. Keycloak starts while the store fills. The Keyward's start-up is
# timed on the filled store (process start → /readyz 200); then `keyward-bench
# scale-run` exchanges a Zipf choice of the active keys through /v1/token and
# /v1/forward-auth while carol (admin) writes keys through the API, times the list and
# audit queries, a usage flush, and prints the table; the plans of the slow queries go
# to $BENCH_SCALE_EXPLAIN (default: beside the report, printed at the end).
#
# Settings (environment): BENCH_SCALE_KEYS (1000000), BENCH_SCALE_ACTIVE (100000),
# BENCH_SCALE_AUDIT (10000000), BENCH_SCALE_USAGE_KEYS (5000: keys with a row per day
# and route), BENCH_SCALE_USAGE_DAYS (365), BENCH_SCALE_DURATION (60s),
# BENCH_SCALE_WARMUP (20s), BENCH_SCALE_CONCURRENCY (16), BENCH_SCALE_WRITES (20 key
# writes/s), BENCH_SCALE_ZIPF (1.1), BENCH_SCALE_REPS (40 per query),
# BENCH_SCALE_PORT (38080: the Keyward; Keycloak on 38180, its management on 39000),
# BENCH_OUT (also write the report there). About 5 min 30 s at the defaults on 2 cores
# (2 min 45 s of it filling the store).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

: "${BENCH_SCALE_KEYS:=1000000}"
: "${BENCH_SCALE_ACTIVE:=100000}"
: "${BENCH_SCALE_AUDIT:=10000000}"
: "${BENCH_SCALE_USAGE_KEYS:=5000}"
: "${BENCH_SCALE_USAGE_DAYS:=365}"
: "${BENCH_SCALE_DURATION:=60s}"
: "${BENCH_SCALE_WARMUP:=20s}"
: "${BENCH_SCALE_CONCURRENCY:=16}"
: "${BENCH_SCALE_WRITES:=20}"
: "${BENCH_SCALE_ZIPF:=1.1}"
: "${BENCH_SCALE_REPS:=40}"
: "${BENCH_SCALE_PORT:=38080}"
: "${BENCH_OUT:=}"
: "${KEYWARD_START_TIMEOUT:=60}"

# Its own state, Keycloak and PostgreSQL: nothing of the dev or test stacks is touched.
export KEYWARD_RUN_DIR="$KEYWARD_RUN_DIR/bench-scale"
export KEYCLOAK_PORT=$((BENCH_SCALE_PORT + 100)) KEYCLOAK_MGMT_PORT=$((BENCH_SCALE_PORT + 920))
export KEYCLOAK_URL="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
addr="$KEYWARD_HOST:$BENCH_SCALE_PORT"
export KEYWARD_PUBLIC_URL="http://$addr"
state="$KEYWARD_RUN_DIR"
rm -rf "$state"
mkdir -p "$state/bin"
pids=()
started_keycloak=false
started_pg=false

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ "$started_keycloak" == true ]]; then
    scripts/keycloak.sh stop >/dev/null 2>&1 || echo "bench-scale: scripts/keycloak.sh stop failed" >&2
  fi
  if [[ "$started_pg" == true ]]; then
    scripts/pg.sh stop >/dev/null 2>&1 || echo "bench-scale: scripts/pg.sh stop failed" >&2
  fi
  rm -rf "$state" # the active keys' texts among it
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/$KEYWARD_HOST/$1") 2>/dev/null; }
for p in "$BENCH_SCALE_PORT" "$KEYCLOAK_PORT" "$KEYCLOAK_MGMT_PORT"; do
  if port_busy "$p"; then
    echo "bench-scale: $KEYWARD_HOST:$p is in use (set BENCH_SCALE_PORT: the bench takes it, +100 and +920)" >&2
    exit 1
  fi
done

go build -o "$state/bin/keyward" ./cmd/keyward
go build -o "$state/bin/keyward-bench" ./cmd/keyward-bench

echo "== bench-scale: Keycloak on $KEYCLOAK_URL (its identity provider trusts $KEYWARD_PUBLIC_URL)"
started_keycloak=true
scripts/keycloak.sh start >"$state/keycloak-start.log" 2>&1 || { cat "$state/keycloak-start.log" >&2; exit 1; }

echo "== bench-scale: a throw-away PostgreSQL (scripts/pg.sh)"
started_pg=true
dsn=$(scripts/pg.sh start)
# Throw-away: no checkpoint in the middle of the load, room for the index builds.
"$state/bin/keyward-bench" scale-sql -dsn "$dsn" \
  "ALTER SYSTEM SET max_wal_size = '8GB'" "ALTER SYSTEM SET checkpoint_timeout = '30min'" \
  "ALTER SYSTEM SET maintenance_work_mem = '512MB'" "SELECT pg_reload_conf()"

pepper="bench-scale-pepper-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
echo "== bench-scale: filling the store: $BENCH_SCALE_KEYS keys ($BENCH_SCALE_ACTIVE active), $BENCH_SCALE_AUDIT audit rows, $BENCH_SCALE_USAGE_DAYS days of usage of $BENCH_SCALE_USAGE_KEYS keys"
load_start=$SECONDS
"$state/bin/keyward-bench" scale-load -dsn "$dsn" -pepper "$pepper" -keys-out "$state/active-keys.txt" \
  -keys "$BENCH_SCALE_KEYS" -active "$BENCH_SCALE_ACTIVE" -audit "$BENCH_SCALE_AUDIT" \
  -usage-keys "$BENCH_SCALE_USAGE_KEYS" -usage-days "$BENCH_SCALE_USAGE_DAYS"
load_seconds=$((SECONDS - load_start))

scripts/keycloak.sh wait >"$state/keycloak-wait.log" 2>&1 || { cat "$state/keycloak-wait.log" >&2; exit 1; }

echo "== bench-scale: a Keyward on $addr (token cache on), start-up timed on the filled store"
t0=$(date +%s%N)
env KEYWARD_LISTEN_ADDR="$addr" KEYWARD_DATABASE_URL="$dsn" KEYWARD_DATA_DIR="$state/keyward-data" \
  KEYWARD_KEYCLOAK_URL="$KEYCLOAK_URL" KEYWARD_PUBLIC_URL="$KEYWARD_PUBLIC_URL" \
  KEYWARD_CLIENT_SECRET=keyward-dev-secret KEYWARD_ADMIN_CLIENT_SECRET=keyward-management-dev-secret \
  KEYWARD_CONSOLE_CLIENT_SECRET=keyward-console-dev-secret \
  KEYWARD_KEY_PEPPER="$pepper" KEYWARD_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)" \
  KEYWARD_TOKEN_CACHE=true KEYWARD_OWNER_MAX_RATE_REQUESTS=0 KEYWARD_LOG_LEVEL=warn \
  nohup "$state/bin/keyward" server >"$state/keyward.log" 2>&1 &
pids+=($!)
keyward_pid=$!
until curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null; do
  if ! kill -0 "$keyward_pid" 2>/dev/null || (($(date +%s%N) - t0 > KEYWARD_START_TIMEOUT * 1000000000)); then
    echo "bench-scale: the Keyward did not become ready; log tail:" >&2
    tail -n 40 "$state/keyward.log" >&2
    exit 1
  fi
  sleep 0.05
done
startup_ms=$((($(date +%s%N) - t0) / 1000000))
echo "== bench-scale: ready in ${startup_ms} ms; the store filled in ${load_seconds} s"

explain_out="${BENCH_SCALE_EXPLAIN:-$KEYWARD_RUN_DIR.explain.md}"
"$state/bin/keyward-bench" scale-run -dsn "$dsn" -keyward "http://$addr" -keycloak "$KEYCLOAK_URL" \
  -keys-file "$state/active-keys.txt" -startup "${startup_ms}ms" -pid "$keyward_pid" \
  -concurrency "$BENCH_SCALE_CONCURRENCY" -writes "$BENCH_SCALE_WRITES" -zipf-s "$BENCH_SCALE_ZIPF" \
  -warmup "$BENCH_SCALE_WARMUP" -duration "$BENCH_SCALE_DURATION" -reps "$BENCH_SCALE_REPS" \
  -explain-out "$explain_out" ${BENCH_OUT:+-out "$BENCH_OUT"}
echo "Store filled in ${load_seconds} s (COPY, then the indexes). Plans of the slow queries: $explain_out"
