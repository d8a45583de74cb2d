# Helpers shared by the scripts that start throw-away servers (pg.sh, redis.sh).
# The caller defines `state` (its state directory), `marker` (a file that proves a
# directory is ours), `say` and `die`.

# remove_dir deletes a server directory only if start made it.
remove_dir() {
  local dir="$1"
  if [ -n "$dir" ] && [ -f "$dir/$marker" ]; then
    rm -rf -- "$dir"
  fi
}

# free_port prints a free TCP port on 127.0.0.1.
free_port() {
  local p
  if p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)" &&
    [[ "$p" =~ ^[0-9]+$ ]]; then
    echo "$p"
    return
  fi
  # No python3: probe random high ports; a refused connection means free.
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port found on 127.0.0.1"
}

# running succeeds when the server that start recorded in $state is alive and the
# caller's is_ours says it is ours, so that a recycled pid never makes us stop someone
# else's process.
running() {
  [ -f "$state/pid" ] && [ -f "$state/dir" ] || return 1
  local pid dir
  pid="$(cat "$state/pid")" dir="$(cat "$state/dir")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  is_ours "$pid" "$dir"
}

# The commands below are the same for every server. The caller also defines:
#   is_ours       succeeds when the live process $1 is its server of directory $2
#   server_url    prints the running server's URL
#   start_server  starts a server with $state cleared, records it, prints its URL
#   stop_server   stops the running server (pid $1, directory $2); dies if it cannot
# and calls `main "$@"`.

# fail_start removes a server directory ($1) that start made, and the state, and exits.
fail_start() {
  remove_dir "$1"; rm -rf -- "$state"
  exit 1
}

cmd_start() {
  if running; then
    server_url
    return
  fi
  # Left over from a server that died: clear it before starting afresh.
  if [ -d "$state" ]; then
    [ -f "$state/dir" ] && remove_dir "$(cat "$state/dir")"
    rm -rf -- "$state"
  fi
  start_server
}

cmd_url() {
  running || die "not running (start it with: bash scripts/$(basename "$0") start)"
  server_url
}

cmd_stop() {
  if [ ! -d "$state" ]; then
    say "not running"
    return
  fi
  local dir pid=""
  dir="$(cat "$state/dir" 2>/dev/null || true)"
  if running; then
    pid="$(cat "$state/pid")"
    stop_server "$pid" "$dir"
  fi
  remove_dir "$dir"
  rm -rf -- "$state"
  say "stopped${pid:+ (pid $pid)}, removed ${dir:-nothing}"
}

main() {
  case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
  esac
}
