#!/usr/bin/env bash
# `make bench`: Keyward's exchange against Keycloak's own token endpoint, side by side.
#
# Works whatever state the dev stack is in. It uses the Keycloak whose realm answers at
# KEYCLOAK_URL and the Keyward that answers at KEYWARD_PUBLIC_URL (`make up`, `make run`),
# and starts whichever is missing. The rows run against Keywards of its own, whatever
# settings the stack's has: the token cache off on KEYWARD_BENCH_PORT, on on the next
# port, two more cache-on replicas on the next two, no owner ceiling on rate limits (the
# bench key's limit must not bind). They open the stack's store (KEYWARD_DATA_DIR, or
# KEYWARD_DATABASE_URL): its signing keys are the ones Keycloak fetches from
# KEYWARD_PUBLIC_URL. cmd/keyward-bench signs the direct JWT grant with the key that
# store signs with now. It prints the table and stops what it started, whatever happens
# (trap); what was running before is left running, and `make down` stops only what
# `make up` started.
#
# The door rows (static, nginx, proxy) put gateways in front of a cheap upstream
# (`keyward-bench upstream`), all loopback, all children of this script: Debian's nginx
# with deploy/gateway/nginx.conf filled for the ports (forward-auth to the cache-on
# Keyward) plus a bench-only server derived from it without auth_request (the static
# limit; `keyward-bench nginx-conf` writes both into a temporary prefix), and
# `keyward proxy`. Before the load, the in-process forward-auth benchmark runs
# (`go test -bench BenchmarkForwardAuth_CacheHit ./handlers/`, no services needed).
#
# Settings (environment): BENCH_CONCURRENCY (16), BENCH_DURATION (15s per row),
# BENCH_WARMUP (5s per row), BENCH_INITIAL_WARMUP (30s: Keycloak's JIT, before the first
# row), BENCH_PROBE (16s: the direct JWT grant and Keyward cache off alternating at
# concurrency 1; 0 for none), BENCH_ROWS (bare,cc,jwt,off,on,rr,static,nginx,proxy),
# BENCH_DOOR_DURATION (10s per door row), BENCH_DOOR_WARMUP (3s), BENCH_IN_PROCESS (1; 0:
# skip the go test benchmark), BENCH_OUT (also write the report there),
# KEYWARD_BENCH_PORT (8081: the bench's Keywards take it and the next three; nginx's two
# servers, the proxy and the upstream the four after), and those of scripts/env.sh and scripts/stack-env.sh (ports, KEYWARD_RUN_DIR,
# KEYWARD_DATA_DIR, …). The generator refuses a plan longer than 4 minutes; with the
# defaults the load takes about 3 min 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/stack-env.sh

: "${KEYWARD_BENCH_PORT:=8081}"
: "${BENCH_CONCURRENCY:=16}"
: "${BENCH_DURATION:=15s}"
: "${BENCH_WARMUP:=5s}"
: "${BENCH_INITIAL_WARMUP:=30s}"
: "${BENCH_ROWS:=bare,cc,jwt,off,on,rr,static,nginx,proxy}"
: "${BENCH_DOOR_DURATION:=10s}"
: "${BENCH_DOOR_WARMUP:=3s}"
: "${BENCH_IN_PROCESS:=1}"
: "${BENCH_PROBE:=16s}"  # concurrency 1, JWT direct and cache off alternating; 0: none
: "${BENCH_OUT:=}"

state="$KEYWARD_RUN_DIR/bench"
mkdir -p "$state"
pids=()                 # every process this script started, stopped by cleanup
started_keycloak=false
nginx_prefix=""         # nginx's temporary prefix, removed by cleanup

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ -n "$nginx_prefix" ]]; then rm -rf "$nginx_prefix"; fi
  if [[ "$started_keycloak" == true ]]; then
    scripts/keycloak.sh stop >/dev/null 2>&1 || echo "bench: scripts/keycloak.sh stop failed" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/$KEYWARD_HOST/$1") 2>/dev/null; }
for n in 0 1 2 3 4 5 6 7; do
  if port_busy $((KEYWARD_BENCH_PORT + n)); then
    echo "bench: $KEYWARD_HOST:$((KEYWARD_BENCH_PORT + n)) is in use (set KEYWARD_BENCH_PORT: the bench takes it and the next seven)" >&2
    exit 1
  fi
done

discovery="$KEYCLOAK_URL/realms/$KEYCLOAK_REALM/.well-known/openid-configuration"
if curl -fsS -o /dev/null --max-time 5 "$discovery" 2>/dev/null || scripts/keycloak.sh status >/dev/null 2>&1; then
  echo "== bench: using the running Keycloak ($KEYCLOAK_URL)"
else
  echo "== bench: starting Keycloak (scripts/keycloak.sh start)"
  started_keycloak=true
  scripts/keycloak.sh start >"$state/keycloak-start.log" 2>&1 || { cat "$state/keycloak-start.log" >&2; exit 1; }
fi
# Polls the realm; it fails at once when the recorded Keycloak has exited.
if ! curl -fsS -o /dev/null --max-time 5 "$discovery" 2>/dev/null; then
  scripts/keycloak.sh wait
fi

mkdir -p "$state/bin"
go build -o "$state/bin/keyward" ./cmd/keyward
go build -o "$state/bin/keyward-bench" ./cmd/keyward-bench

# start_keyward ADDR LOG [VAR=VALUE …]: a Keyward on ADDR with the dev stack's settings
# (scripts/stack-env.sh: the same store, secrets and public URL) and the given ones.
start_keyward() {
  local addr="$1" log="$2"
  shift 2
  env KEYWARD_LISTEN_ADDR="$addr" "$@" nohup "$state/bin/keyward" server >"$log" 2>&1 &
  pids+=($!)
}
wait_keyward() { # ADDR LOG: waits while the last started is alive
  local pid="${pids[-1]}" deadline=$((SECONDS + KEYWARD_START_TIMEOUT))
  until curl -fsS -o /dev/null "http://$1/readyz" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS > deadline)); then
      echo "bench: the Keyward on $1 did not become ready; log tail:" >&2
      tail -n 40 "$2" >&2
      exit 1
    fi
    sleep 0.5
  done
}

if curl -fsS -o /dev/null --max-time 5 "$KEYWARD_PUBLIC_URL/readyz" 2>/dev/null; then
  echo "== bench: using the running Keyward at $KEYWARD_PUBLIC_URL (Keycloak fetches its signing keys there)"
else
  # Serves the store's signing keys where the realm's identity provider fetches them.
  echo "== bench: starting a Keyward at $KEYWARD_PUBLIC_URL (Keycloak fetches its signing keys there)"
  start_keyward "$KEYWARD_HOST:$KEYWARD_PORT" "$state/keyward-public.log"
  wait_keyward "$KEYWARD_HOST:$KEYWARD_PORT" "$state/keyward-public.log"
fi

# The bench's own Keywards. No owner ceiling: the bench key's limit (1,000,000/s) must
# not be refused, nor bind.
bench_settings=(KEYWARD_OWNER_MAX_RATE_REQUESTS=0)
off_addr="$KEYWARD_HOST:$KEYWARD_BENCH_PORT"
on_addr="$KEYWARD_HOST:$((KEYWARD_BENCH_PORT + 1))"
echo "== bench: its Keywards on the same store: cache off $off_addr, cache on $on_addr, two more cache-on replicas for the rr row"
start_keyward "$off_addr" "$state/keyward-off.log" "${bench_settings[@]}" KEYWARD_TOKEN_CACHE=false
wait_keyward "$off_addr" "$state/keyward-off.log"
off_pid="${pids[-1]}"
replicas=""
replica_pids=()
for n in 1 2 3; do
  addr="$KEYWARD_HOST:$((KEYWARD_BENCH_PORT + n))"
  start_keyward "$addr" "$state/keyward-on-$n.log" "${bench_settings[@]}" KEYWARD_TOKEN_CACHE=true
  wait_keyward "$addr" "$state/keyward-on-$n.log"
  replica_pids+=("${pids[-1]}")
  replicas="$replicas${replicas:+,}http://$addr"
done

# CPU per row of each process (children included: kc.sh runs the JVM).
watch="keyward-off=$off_pid,keyward-on=${replica_pids[0]},replica-2=${replica_pids[1]},replica-3=${replica_pids[2]}"

# The door: the upstream, nginx (the recipe and the static server) and keyward proxy,
# forward-auth going to the cache-on Keyward.
door_flags=()
if [[ ",$BENCH_ROWS," =~ ,(static|nginx|proxy), ]]; then
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  if [[ ! -x "$nginx_bin" ]]; then
    echo "bench: the door rows need Debian's nginx (apt-get install -y nginx), or leave static,nginx,proxy out of BENCH_ROWS" >&2
    exit 1
  fi
  nginx_addr="$KEYWARD_HOST:$((KEYWARD_BENCH_PORT + 4))"
  static_addr="$KEYWARD_HOST:$((KEYWARD_BENCH_PORT + 5))"
  proxy_addr="$KEYWARD_HOST:$((KEYWARD_BENCH_PORT + 6))"
  upstream_addr="$KEYWARD_HOST:$((KEYWARD_BENCH_PORT + 7))"
  echo "== bench: the door: nginx $nginx_addr (deploy/gateway/nginx.conf) and $static_addr (static, no auth_request), keyward proxy $proxy_addr, upstream $upstream_addr"
  "$state/bin/keyward-bench" upstream -listen "$upstream_addr" >"$state/upstream.log" 2>&1 &
  pids+=($!)
  upstream_pid=$!
  nginx_prefix=$(mktemp -d "$state/nginx.XXXXXX")
  "$state/bin/keyward-bench" nginx-conf -dir "$nginx_prefix" -recipe deploy/gateway/nginx.conf \
    -listen "$nginx_addr" -static-listen "$static_addr" -keyward "$on_addr" -upstream "$upstream_addr"
  "$nginx_bin" -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" -e "$nginx_prefix/error.log" >"$state/nginx.log" 2>&1 &
  pids+=($!)
  nginx_pid=$!
  env KEYWARD_URL="http://$on_addr" "$state/bin/keyward" proxy --listen "$proxy_addr" --upstream "http://$upstream_addr" >"$state/proxy.log" 2>&1 &
  pids+=($!)
  proxy_pid=$!
  # Any HTTP answer will do (the doors refuse a request without a key).
  for pair in "$upstream_pid $upstream_addr $state/upstream.log" "$nginx_pid $nginx_addr $nginx_prefix/error.log" \
    "$nginx_pid $static_addr $nginx_prefix/error.log" "$proxy_pid $proxy_addr $state/proxy.log"; do
    read -r pid addr log <<<"$pair"
    deadline=$((SECONDS + 15))
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$addr/" 2>/dev/null)" != 000 ]]; do
      if ! kill -0 "$pid" 2>/dev/null || ((SECONDS > deadline)); then
        echo "bench: nothing answered on $addr; log tail:" >&2
        tail -n 20 "$log" "$state/nginx.log" 2>/dev/null >&2
        exit 1
      fi
      sleep 0.2
    done
  done
  watch="$watch,nginx=$nginx_pid,proxy=$proxy_pid,upstream=$upstream_pid"
  door_flags=(-nginx "http://$nginx_addr" -nginx-static "http://$static_addr" -proxy "http://$proxy_addr"
    -door-duration "$BENCH_DOOR_DURATION" -door-warmup "$BENCH_DOOR_WARMUP")
fi

if [[ "$BENCH_IN_PROCESS" != 0 ]]; then
  echo "== bench: in process, a forward-auth cache hit (go test -bench BenchmarkForwardAuth_CacheHit ./handlers/)"
  if go test -run '^$' -bench BenchmarkForwardAuth_CacheHit -benchmem -benchtime 1s ./handlers/ >"$state/in-process.txt" 2>&1; then
    door_flags+=(-in-process "$state/in-process.txt")
  else
    echo "bench: the in-process benchmark failed (the report gives its command); tail:" >&2
    tail -n 20 "$state/in-process.txt" >&2
  fi
fi
if kc_pid=$(cat "$KEYWARD_RUN_DIR/keycloak/keycloak.pid" 2>/dev/null) && kill -0 "$kc_pid" 2>/dev/null; then
  watch="keycloak=$kc_pid,$watch"
fi

echo "== bench: load ($(nproc) cores shared by Keycloak, the Keywards and the generator)"
# The generator reads the store's signing keys as a Keyward would, from the KEYWARD_*
# environment (scripts/stack-env.sh).
"$state/bin/keyward-bench" \
  -keycloak "http://$KEYCLOAK_HOST:$KEYCLOAK_PORT" \
  -keyward "http://$off_addr" \
  -keyward-cached "http://$on_addr" -keyward-replicas "$replicas" \
  -public-url "$KEYWARD_PUBLIC_URL" \
  -concurrency "$BENCH_CONCURRENCY" -duration "$BENCH_DURATION" -warmup "$BENCH_WARMUP" \
  -initial-warmup "$BENCH_INITIAL_WARMUP" -rows "$BENCH_ROWS" -probe "$BENCH_PROBE" -watch "$watch" \
  -keycloak-version "$KEYCLOAK_VERSION" ${BENCH_OUT:+-out "$BENCH_OUT"} ${door_flags[@]+"${door_flags[@]}"}
