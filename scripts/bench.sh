#!/usr/bin/env bash
# `make bench`: Keyward's exchange against Keycloak's own token endpoint, side by side.
#
# Brings the dev stack up (scripts/stack.sh up: Keycloak with the dev realm, Keyward with
# the token cache off), starts a second Keyward with KEYWARD_TOKEN_CACHE=true beside it
# (same data directory, signing key and public URL, so Keycloak trusts its assertions
# and it sees the same keys), runs cmd/keyward-bench against 127.0.0.1, prints its table,
# and stops what it started, whatever happens (trap). A stack that was already up before
# is left running.
#
# Settings (environment): BENCH_CONCURRENCY (16), BENCH_DURATION (15s per row),
# BENCH_WARMUP (5s per row), BENCH_INITIAL_WARMUP (30s: Keycloak's JIT, before the first
# row), BENCH_PROBE (16s: the direct JWT grant and Keyward cache off alternating at
# concurrency 1; 0 for none), BENCH_ROWS (bare,cc,jwt,off,on,rr), BENCH_OUT (also write
# the report there), KEYWARD_BENCH_CACHED_PORT (8081; the rr row's two more cache-on
# replicas take the next two ports), and those of scripts/env.sh and scripts/stack.sh
# (ports, KEYWARD_RUN_DIR, …). The generator refuses a plan longer than 4 minutes; with
# the defaults the load takes about 2 min 50 s.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

: "${KEYWARD_DATA_DIR:=$KEYWARD_RUN_DIR/keyward-data}"           # as stack.sh
: "${KEYWARD_SIGNING_KEY_FILE:=$KEYWARD_DATA_DIR/signing-key.pem}" # Keyward's default
: "${KEYWARD_BENCH_CACHED_PORT:=8081}"
: "${BENCH_CONCURRENCY:=16}"
: "${BENCH_DURATION:=15s}"
: "${BENCH_WARMUP:=5s}"
: "${BENCH_INITIAL_WARMUP:=30s}"
: "${BENCH_ROWS:=bare,cc,jwt,off,on,rr}"
: "${BENCH_PROBE:=16s}"  # concurrency 1, JWT direct and cache off alternating; 0: none
: "${BENCH_OUT:=}"
# The bench key's limit (1,000,000/s) must not bind, nor be refused by the owners' ceiling.
: "${KEYWARD_OWNER_MAX_RATE_REQUESTS:=0}"
export KEYWARD_DATA_DIR KEYWARD_SIGNING_KEY_FILE KEYWARD_OWNER_MAX_RATE_REQUESTS

state="$KEYWARD_RUN_DIR/bench"
mkdir -p "$state"
cached_pid=""
replica_pids=()
stack_was_up=false
if scripts/keycloak.sh status >/dev/null 2>&1 ||
  kill -0 "$(cat "$KEYWARD_RUN_DIR/keyward/pid" 2>/dev/null)" 2>/dev/null; then
  stack_was_up=true
fi

cleanup() {
  local status=$?
  for pid in $cached_pid "${replica_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ "$stack_was_up" == true ]]; then
    echo "bench: the stack was up before: left running" >&2
  else
    scripts/stack.sh down >/dev/null 2>&1 || echo "bench: scripts/stack.sh down failed" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cached_addr="$KEYWARD_HOST:$KEYWARD_BENCH_CACHED_PORT"
if (exec 3<>"/dev/tcp/$KEYWARD_HOST/$KEYWARD_BENCH_CACHED_PORT") 2>/dev/null; then
  echo "bench: $cached_addr is in use (set KEYWARD_BENCH_CACHED_PORT)" >&2
  exit 1
fi

echo "== bench: starting the stack (scripts/stack.sh up)"
# The "cache off" row: the cache is on by default since Keyward follows Keycloak's events.
KEYWARD_TOKEN_CACHE=false scripts/stack.sh up >"$state/stack-up.log" 2>&1 || { cat "$state/stack-up.log" >&2; exit 1; }
grep -E '^(keycloak ready|Keyward is up)' "$state/stack-up.log" || true

echo "== bench: Keywards with the token cache on: $cached_addr, and two more replicas for the rr row"
go build -o "$state/keyward-bench" ./cmd/keyward-bench
# start_cached ADDR LOG: the binary stack.sh built, on the same store (data dir, signing
# key, public URL), the Keycloak URL and the secret as stack.sh sets them; prints its pid.
start_cached() {
  KEYWARD_LISTEN_ADDR="$1" KEYWARD_TOKEN_CACHE=true \
    KEYWARD_KEYCLOAK_URL="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT" \
    KEYWARD_CLIENT_SECRET="${KEYWARD_CLIENT_SECRET:-keyward-dev-secret}" \
    KEYWARD_ADMIN_CLIENT_SECRET="${KEYWARD_ADMIN_CLIENT_SECRET:-keyward-management-dev-secret}" \
    nohup "$KEYWARD_RUN_DIR/keyward/keyward" server >"$2" 2>&1 &
  echo $!
}
wait_cached() { # ADDR PID LOG
  for i in $(seq 1 120); do
    curl -fsS -o /dev/null "http://$1/readyz" 2>/dev/null && return 0
    if ! kill -0 "$2" 2>/dev/null || ((i == 120)); then
      echo "bench: the cache-on Keyward on $1 did not become ready; log tail:" >&2
      tail -n 40 "$3" >&2
      exit 1
    fi
    sleep 0.5
  done
}
cached_pid=$(start_cached "$cached_addr" "$state/keyward-cached.log")
wait_cached "$cached_addr" "$cached_pid" "$state/keyward-cached.log"
replicas="http://$cached_addr"
for n in 1 2; do
  addr="$KEYWARD_HOST:$((KEYWARD_BENCH_CACHED_PORT + n))"
  pid=$(start_cached "$addr" "$state/keyward-replica-$n.log")
  replica_pids+=("$pid")
  wait_cached "$addr" "$pid" "$state/keyward-replica-$n.log"
  replicas="$replicas,http://$addr"
done

# CPU per row of each process (children included: kc.sh runs the JVM).
watch="keycloak=$(cat "$KEYWARD_RUN_DIR/keycloak/keycloak.pid"),keyward-off=$(cat "$KEYWARD_RUN_DIR/keyward/pid"),keyward-on=$cached_pid,replica-2=${replica_pids[0]},replica-3=${replica_pids[1]}"

echo "== bench: load ($(nproc) cores shared by Keycloak, both Keywards and the generator)"
"$state/keyward-bench" \
  -keycloak "http://$KEYCLOAK_HOST:$KEYCLOAK_PORT" \
  -keyward "http://$KEYWARD_HOST:$KEYWARD_PORT" \
  -keyward-cached "http://$cached_addr" -keyward-replicas "$replicas" \
  -public-url "$KEYWARD_PUBLIC_URL" \
  -signing-key "$KEYWARD_SIGNING_KEY_FILE" \
  -concurrency "$BENCH_CONCURRENCY" -duration "$BENCH_DURATION" -warmup "$BENCH_WARMUP" \
  -initial-warmup "$BENCH_INITIAL_WARMUP" -rows "$BENCH_ROWS" -probe "$BENCH_PROBE" -watch "$watch" \
  -keycloak-version "$KEYCLOAK_VERSION" ${BENCH_OUT:+-out "$BENCH_OUT"}
