#!/usr/bin/env bash
# A throw-away PostgreSQL for tests, from the machine's binaries (initdb, pg_ctl,
# postgres on PATH), in a temporary directory, on a free port of 127.0.0.1 only,
# with trust authentication. Never use it for data you want to keep.
#
#   scripts/pg.sh start    start (or find running) and print its postgres:// URL
#   scripts/pg.sh url      print the URL of the running server
#   scripts/pg.sh stop     stop what start started and remove its directory
#
# Environment: KEYWARD_RUN_DIR (state), KEYWARD_PG_PORT (fixed port instead of a free
# one), KEYWARD_PG_USER (system user that runs the server when we are root).
set -euo pipefail

run_dir="${KEYWARD_RUN_DIR:-${TMPDIR:-/tmp}/keyward-run-$(id -u)}"
state="$run_dir/pg"          # files: dir, port, pid
pg_user="${KEYWARD_PG_USER:-postgres}"
marker=".keyward-pg"         # proves a directory is ours before rm -rf
timeout=30

say() { echo "pg.sh: $*" >&2; }
die() { say "$*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# as_pg runs a command as the server's user: initdb and postgres refuse root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

url_for() { echo "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable"; }

# is_ours succeeds when the live process $1 is the postmaster serving directory $2.
is_ours() {
  local pid="$1" dir="$2"
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/data"
}

check_prereqs() {
  local missing=() b
  for b in initdb pg_ctl postgres; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  [ ${#missing[@]} -eq 0 ] || die "not on PATH: ${missing[*]} (install PostgreSQL 15 server binaries, e.g. apt-get install postgresql-15)"
  local major
  major="$(postgres --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"
  [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge 13 ] ||
    die "PostgreSQL 13 or newer needed (DROP DATABASE … WITH (FORCE)); found: $(postgres --version)"
  if [ "$(id -u)" -eq 0 ]; then
    command -v runuser >/dev/null || die "running as root needs runuser (util-linux) to start PostgreSQL as '$pg_user'"
    id -u "$pg_user" >/dev/null 2>&1 ||
      die "running as root, and PostgreSQL refuses root: system user '$pg_user' is missing (create it with 'useradd --system $pg_user', or set KEYWARD_PG_USER to an existing non-root user)"
  fi
}

server_url() { url_for "$(cat "$state/port")"; }

start_server() {
  check_prereqs
  mkdir -p "$state"

  local dir initdb pg_ctl
  initdb="$(command -v initdb)" pg_ctl="$(command -v pg_ctl)"
  # Outside run_dir: the server's user must reach it whatever run_dir's mode.
  dir="$(mktemp -d "${TMPDIR:-/tmp}/keyward-pg.XXXXXX")"
  touch "$dir/$marker"
  echo "$dir" >"$state/dir"
  [ "$(id -u)" -ne 0 ] || chown "$pg_user" "$dir"
  as_pg test -w "$dir" || { remove_dir "$dir"; rm -rf -- "$state"; die "user '$pg_user' cannot write $dir (check the permissions of ${TMPDIR:-/tmp})"; }

  # Run from dir: the server's user may not be allowed into the caller's cwd.
  cd "$dir"
  if ! as_pg "$initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 \
    --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
    say "initdb failed:"
    tail -n 30 "$dir/initdb.log" >&2 || true
    remove_dir "$dir"; rm -rf -- "$state"
    exit 1
  fi

  # Unix sockets off: TCP on 127.0.0.1 only, and no socket path length limits.
  # Durability off: the data is thrown away.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  local attempt port
  for attempt in 1 2 3; do
    port="${KEYWARD_PG_PORT:-$(free_port)}"
    [[ "$port" =~ ^[0-9]+$ ]] || die "no usable port (KEYWARD_PG_PORT='${KEYWARD_PG_PORT:-}')"
    # Appended last, so a retry's port overrides the earlier one.
    echo "port = $port" >>"$dir/data/postgresql.conf"
    if as_pg "$pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t "$timeout" start >/dev/null 2>>"$dir/pg_ctl.log"; then
      head -n 1 "$dir/data/postmaster.pid" >"$state/pid"
      echo "$port" >"$state/port"
      say "PostgreSQL $(postgres --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
      url_for "$port"
      return
    fi
    # Somebody took the port between picking and binding: try another one.
    if [ -z "${KEYWARD_PG_PORT:-}" ] && grep -q "could not bind\|Address already in use" "$dir/postgres.log" 2>/dev/null; then
      say "port $port taken, retrying ($attempt)"
      continue
    fi
    break
  done
  say "PostgreSQL failed to start (waited at most ${timeout}s); log tail:"
  tail -n 30 "$dir/pg_ctl.log" "$dir/postgres.log" >&2 2>/dev/null || true
  # It may still be coming up: stop it before removing its files.
  as_pg "$pg_ctl" -D "$dir/data" -m immediate -w -t "$timeout" stop >/dev/null 2>&1 || true
  fail_start "$dir"
}

stop_server() {
  local pid="$1" dir="$2"
  cd "$dir"
  if ! as_pg "$(command -v pg_ctl)" -D "$dir/data" -m fast -w -t "$timeout" stop >/dev/null 2>&1; then
    say "pg_ctl stop failed; log tail:"
    tail -n 20 "$dir/postgres.log" >&2 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # The postmaster exits last; wait for it so that nothing outlives stop.
  for _ in $(seq 1 "$((timeout * 10))"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && die "postmaster $pid still running; $dir kept"
  cd /
}

main "$@"
