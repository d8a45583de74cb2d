#!/usr/bin/env bash
# A throw-away Redis for tests, from Debian's redis-server (installed with apt-get when
# missing and we are root), in a temporary directory, on a free port of 127.0.0.1 only,
# with a random password and no persistence. Never use it for data you want to keep.
#
#   scripts/redis.sh start    start (or find running) and print its redis:// URL
#   scripts/redis.sh url      print the URL of the running server
#   scripts/redis.sh stop     stop what start started and remove its directory
#
# Environment: KEYWARD_RUN_DIR (state), KEYWARD_REDIS_PORT (fixed port instead of a
# free one).
set -euo pipefail

run_dir="${KEYWARD_RUN_DIR:-${TMPDIR:-/tmp}/keyward-run-$(id -u)}"
state="$run_dir/redis"       # files: dir, port, pid, password
marker=".keyward-redis"      # proves a directory is ours before rm -rf
timeout=15
# Tests lease one logical database each (internal/redistest): room for many at once.
databases=256

say() { echo "redis.sh: $*" >&2; }
die() { say "$*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

url_for() { echo "redis://default:$2@127.0.0.1:$1/0"; }

# is_ours succeeds when the live process $1 is the server working in directory $2.
is_ours() {
  local pid="$1" dir="$2"
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ]
}

ensure_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing redis-server with apt-get"
    # Debian's package may start a system service on 6379 where systemd runs; we
    # neither use nor stop it.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null ||
      die "apt-get install redis-server failed"
  fi
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    die "redis-server and redis-cli are not on PATH (install them, e.g. apt-get install redis-server)"
}

# cli runs redis-cli against our server; the password travels in the environment, not
# on the command line where ps shows it.
cli() {
  REDISCLI_AUTH="$(cat "$state/password")" redis-cli -h 127.0.0.1 -p "$(cat "$state/port")" "$@"
}

server_url() { url_for "$(cat "$state/port")" "$(cat "$state/password")"; }

start_server() {
  ensure_redis
  mkdir -p "$state"
  chmod 700 "$state"

  local dir password
  dir="$(mktemp -d "${TMPDIR:-/tmp}/keyward-redis.XXXXXX")"
  touch "$dir/$marker"
  echo "$dir" >"$state/dir"
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && echo "$password" >"$state/password")

  local attempt port pid
  for attempt in 1 2 3; do
    port="${KEYWARD_REDIS_PORT:-$(free_port)}"
    [[ "$port" =~ ^[0-9]+$ ]] || die "no usable port (KEYWARD_REDIS_PORT='${KEYWARD_REDIS_PORT:-}')"
    echo "$port" >"$state/port"
    # The config file holds the password: readable by us only. Persistence off (no RDB,
    # no AOF): the data is thrown away. Loopback only, no Unix socket.
    (umask 077 && cat >"$dir/redis.conf" <<EOF
bind 127.0.0.1
port $port
protected-mode yes
requirepass $password
databases $databases
save ""
appendonly no
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
EOF
    )
    rm -f "$dir/redis.pid"
    if redis-server "$dir/redis.conf" >>"$dir/start.log" 2>&1; then
      for _ in $(seq 1 "$((timeout * 10))"); do
        if [ -s "$dir/redis.pid" ] && [ "$(cli ping 2>/dev/null)" = "PONG" ]; then
          pid="$(cat "$dir/redis.pid")"
          echo "$pid" >"$state/pid"
          say "Redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') on 127.0.0.1:$port (pid $pid), files in $dir"
          url_for "$port" "$password"
          return
        fi
        # Daemonized, then died (e.g. the port was taken): no point waiting.
        if [ -s "$dir/redis.pid" ] && ! kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
          break
        fi
        grep -q "Address already in use" "$dir/redis.log" 2>/dev/null && break
        sleep 0.1
      done
    fi
    # Somebody took the port between picking and binding: try another one.
    if [ -z "${KEYWARD_REDIS_PORT:-}" ] && grep -q "Address already in use" "$dir/redis.log" 2>/dev/null; then
      say "port $port taken, retrying ($attempt)"
      : >"$dir/redis.log"
      continue
    fi
    break
  done
  say "Redis failed to start (waited at most ${timeout}s); log tail:"
  tail -n 30 "$dir/start.log" "$dir/redis.log" >&2 2>/dev/null || true
  # It may still be coming up: stop it before removing its files.
  if [ -s "$dir/redis.pid" ]; then
    pid="$(cat "$dir/redis.pid")"
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ] && kill -KILL "$pid" 2>/dev/null || true
  fi
  fail_start "$dir"
}

stop_server() {
  local pid="$1" dir="$2"
  # NOSAVE: nothing to keep. If the server does not answer, TERM, then KILL.
  cli shutdown nosave >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 "$((timeout * 10))"); do
    kill -0 "$pid" 2>/dev/null || break
    ((i == 50)) && kill -TERM "$pid" 2>/dev/null || true
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  if kill -0 "$pid" 2>/dev/null; then
    die "redis-server $pid still running; $dir kept"
  fi
}

main "$@"
