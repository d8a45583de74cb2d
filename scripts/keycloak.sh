#!/usr/bin/env bash
# Runs a local Keycloak (the pinned distribution, see fetch-keycloak.sh) for development
# and tests, with the dev realm (realm-export.json) imported fresh on every start.
#
#   scripts/keycloak.sh start    start in the background (no-op if already running)
#   scripts/keycloak.sh wait     wait until the realm answers (KEYCLOAK_START_TIMEOUT s)
#   scripts/keycloak.sh stop     stop the Keycloak this script started
#   scripts/keycloak.sh status   say whether it is running (exit 0) or not (exit 1)
#   scripts/keycloak.sh logs     print the log (logs -f: follow it)
#   scripts/keycloak.sh java     print the JDK (>= 21) that would be used
#
# Settings (environment, defaults in scripts/env.sh): KEYCLOAK_HOST, KEYCLOAK_PORT,
# KEYCLOAK_MGMT_PORT, KEYCLOAK_ADMIN_USER, KEYCLOAK_ADMIN_PASSWORD, KEYCLOAK_START_TIMEOUT,
# KEYCLOAK_JAVA_HEAP, KEYWARD_PUBLIC_URL (issuer + JWKS base of the realm's identity
# provider `keyward`), KEYWARD_RUN_DIR (pid, log, database, import dir), JAVA_HOME.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$here/env.sh"

kc_dir="$KEYWARD_RUN_DIR/keycloak"
pid_file="$kc_dir/keycloak.pid"
log_file="$kc_dir/keycloak.log"
realm_file="${KEYCLOAK_REALM_FILE:-$root/realm-export.json}"
discovery_url="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT/realms/$KEYCLOAK_REALM/.well-known/openid-configuration"

die() { echo "keycloak.sh: $*" >&2; exit 1; }

# --- JDK ---------------------------------------------------------------------------

# Major version of the JDK at $1 ("" if unknown).
java_major() {
  local home="$1" v=""
  if [[ -r "$home/release" ]]; then
    v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release" | head -n1)"
  fi
  if [[ -z "$v" && -x "$home/bin/java" ]]; then
    v="$("$home/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)"
  fi
  v="${v#1.}"
  v="${v%%[.+_-]*}"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || true
}

# Prints a JDK home of version >= 21: JAVA_HOME if good enough, else a Temurin 25 under
# /usr/lib/jvm, else the newest JDK >= 21 under /usr/lib/jvm, else the `java` on PATH.
find_java() {
  local jvm_dir="${KEYWARD_JVM_DIR:-/usr/lib/jvm}" cand major path_java=""
  local -a cands=()
  [[ -n "${JAVA_HOME:-}" ]] && cands+=("$JAVA_HOME")
  shopt -s nullglob
  cands+=("$jvm_dir"/*temurin*25* "$jvm_dir"/*)
  shopt -u nullglob
  if command -v java >/dev/null 2>&1; then
    path_java="$(readlink -f "$(command -v java)")"
    path_java="${path_java%/bin/java}"
    cands+=("$path_java")
  fi
  local best="" best_major=0
  for cand in "${cands[@]}"; do
    [[ -x "$cand/bin/java" ]] || continue
    major="$(java_major "$cand")"
    [[ -n "$major" && "$major" -ge 21 ]] || continue
    # JAVA_HOME and Temurin 25 win outright; otherwise keep the newest.
    if [[ "$cand" == "${JAVA_HOME:-/nonexistent}" || "$cand" == "$jvm_dir"/*temurin*25* ]]; then
      echo "$cand"; return 0
    fi
    if (( major > best_major )); then best="$cand"; best_major="$major"; fi
  done
  [[ -n "$best" ]] && { echo "$best"; return 0; }
  local have="no JDK found in JAVA_HOME, $jvm_dir or PATH"
  if [[ -n "${JAVA_HOME:-}" ]]; then
    local m; m="$(java_major "$JAVA_HOME")"
    have="JAVA_HOME=$JAVA_HOME is ${m:+Java $m}${m:-not a JDK}"
  elif [[ -n "$path_java" ]]; then
    have="java on PATH is Java $(java_major "$path_java")"
  fi
  die "Keycloak ${KEYCLOAK_VERSION} needs a JDK 21 or newer ($have); set JAVA_HOME to a JDK >= 21 (e.g. Temurin 21 or 25)"
}

# --- process bookkeeping -------------------------------------------------------------

recorded_pid() { [[ -s "$pid_file" ]] && cat "$pid_file" || true; }

# True if the recorded pid is alive and is our Keycloak (guards against pid reuse).
is_running() {
  local pid; pid="$(recorded_pid)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -e 'kc.sh' -e 'keycloak' || return 1
}

port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

http_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null
  else
    python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1" 2>/dev/null
  fi
}

# --- commands --------------------------------------------------------------------------

cmd_start() {
  if is_running; then
    echo "keycloak already running (pid $(recorded_pid)) on http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
    return 0
  fi
  [[ -r "$realm_file" ]] || die "realm file not found: $realm_file"
  port_busy "$KEYCLOAK_HOST" "$KEYCLOAK_PORT" &&
    die "port $KEYCLOAK_HOST:$KEYCLOAK_PORT is already in use (set KEYCLOAK_PORT)"
  port_busy 127.0.0.1 "$KEYCLOAK_MGMT_PORT" &&
    die "management port $KEYCLOAK_MGMT_PORT is already in use (set KEYCLOAK_MGMT_PORT)"

  local java_home kc_home
  java_home="$(find_java)"
  kc_home="$(bash "$here/fetch-keycloak.sh")"
  if [[ -d "$kc_home/data/import" ]]; then
    # --import-realm would read that directory instead of ours.
    die "$kc_home/data/import exists: remove it (this script imports from $kc_dir/import)"
  fi

  # Fresh state on every start: new H2 database, new import directory.
  rm -rf "$kc_dir/data" "$kc_dir/import"
  mkdir -p "$kc_dir/data" "$kc_dir/import"
  rm -f "$pid_file"
  cp "$realm_file" "$kc_dir/import/keyward-realm.json"

  local -a args=(
    start-dev
    "--http-host=$KEYCLOAK_HOST"
    "--http-port=$KEYCLOAK_PORT"
    "--hostname=http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
    "--http-management-port=$KEYCLOAK_MGMT_PORT"
    --health-enabled=true
    --db=dev-file
    "--db-url=jdbc:h2:file:$kc_dir/data/h2/keycloakdb;NON_KEYWORDS=VALUE;DB_CLOSE_ON_EXIT=FALSE"
    --import-realm
    # --import-realm reads <keycloak home>/data/import; point the importer at our copy.
    "-Dkeycloak.migration.dir=$kc_dir/import"
    # Keep the transaction log out of the shared Keycloak home too (runs do not share it).
    "-Dquarkus.transaction-manager.object-store.directory=$kc_dir/data/transaction-logs"
  )
  echo "starting keycloak $KEYCLOAK_VERSION on http://$KEYCLOAK_HOST:$KEYCLOAK_PORT" \
    "(java: $java_home, log: $log_file)"
  (
    cd "$kc_dir"
    export JAVA_HOME="$java_home" PATH="$java_home/bin:$PATH"
    export KC_BOOTSTRAP_ADMIN_USERNAME="$KEYCLOAK_ADMIN_USER"
    export KC_BOOTSTRAP_ADMIN_PASSWORD="$KEYCLOAK_ADMIN_PASSWORD"
    export KEYWARD_PUBLIC_URL JAVA_OPTS_KC_HEAP="$KEYCLOAK_JAVA_HEAP"
    # setsid: Keycloak gets its own process group, so `stop` can end kc.sh and its JVM.
    exec setsid nohup "$kc_home/bin/kc.sh" "${args[@]}" >"$log_file" 2>&1 </dev/null
  ) &
  echo $! >"$pid_file"
  echo "keycloak started (pid $(recorded_pid)); run 'scripts/keycloak.sh wait'"
}

cmd_wait() {
  local timeout="$KEYCLOAK_START_TIMEOUT" start=$SECONDS
  while (( SECONDS - start < timeout )); do
    if http_ok "$discovery_url"; then
      echo "keycloak ready: $discovery_url ($((SECONDS - start)) s)"
      return 0
    fi
    if [[ -z "$(recorded_pid)" ]]; then
      echo "keycloak is not running (no pid file in $kc_dir): run 'scripts/keycloak.sh start' first" >&2
      return 1
    fi
    if ! is_running; then
      echo "keycloak exited before it was ready; last log lines:" >&2
      tail -n 60 "$log_file" >&2 2>/dev/null || true
      rm -f "$pid_file"
      return 1
    fi
    sleep 1
  done
  echo "keycloak not ready after ${timeout} s ($discovery_url); last log lines:" >&2
  tail -n 60 "$log_file" >&2 2>/dev/null || true
  return 1
}

# say prints a progress line that may be lost: a stop must go on when its output is
# gone (a closed pipe, as after Ctrl-C on `make run | tee log`).
say() { echo "$@" 2>/dev/null || true; }

cmd_stop() {
  trap '' PIPE
  local pid; pid="$(recorded_pid)"
  if [[ -z "$pid" ]]; then say "keycloak not running (no pid file)"; return 0; fi
  if ! is_running; then
    say "keycloak not running (stale pid $pid)"; rm -f "$pid_file"; return 0
  fi
  say "stopping keycloak (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 -- "-$pid" 2>/dev/null; then
    say "keycloak did not stop in 30 s: killing it" >&2
    kill -KILL -- "-$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$pid_file"
  say "keycloak stopped"
}

cmd_status() {
  if is_running; then
    local ready="starting"
    http_ok "$discovery_url" && ready="ready"
    echo "keycloak running (pid $(recorded_pid), $ready) on http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
    return 0
  fi
  echo "keycloak not running"
  return 1
}

cmd_logs() {
  [[ -f "$log_file" ]] || die "no log yet: $log_file"
  if [[ "${1:-}" == "-f" ]]; then tail -n 100 -F "$log_file"; else cat "$log_file"; fi
}

case "${1:-}" in
  start) cmd_start ;;
  wait) cmd_wait ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  restart) cmd_stop; cmd_start ;;
  java) find_java ;;
  *) echo "usage: $0 start|wait|stop|status|logs [-f]|restart|java" >&2; exit 2 ;;
esac
