#!/usr/bin/env bash
# The dev stack: Keycloak (dev realm) + Keyward on the embedded store.
#   stack.sh run    start Keycloak, run Keyward in the foreground; Ctrl-C stops both
#   stack.sh up     start both in the background and wait until Keyward is ready
#   stack.sh down   stop what `up` started (and nothing else)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/stack-env.sh

state="$KEYWARD_RUN_DIR/keyward"
bin="$state/keyward"

build() {
  mkdir -p "$state"
  go build -o "$bin" ./cmd/keyward
}

next_steps() {
  cat <<MSG

Keyward is up on $KEYWARD_PUBLIC_URL (Keycloak: $KEYWARD_KEYCLOAK_URL, realm keyward).
Console: $KEYWARD_PUBLIC_URL/
Dev users: alice, bob, carol (password = username). Try:

  TOKEN=\$(curl -s -d client_id=keyward-cli -d grant_type=password -d username=alice -d password=alice \\
    $KEYWARD_KEYCLOAK_URL/realms/keyward/protocol/openid-connect/token | jq -r .access_token)
  KEY=\$(curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"name":"laptop"}' $KEYWARD_PUBLIC_URL/v1/keys | jq -r .key)
  curl -s -X POST -H "X-API-Key: \$KEY" $KEYWARD_PUBLIC_URL/v1/token

MSG
}

wait_ready() {
  local deadline=$((SECONDS + KEYWARD_START_TIMEOUT))
  until curl -fsS -o /dev/null "$KEYWARD_PUBLIC_URL/readyz" 2>/dev/null; do
    if ! kill -0 "$(cat "$state/pid" 2>/dev/null)" 2>/dev/null || ((SECONDS > deadline)); then
      echo "error: Keyward did not become ready in ${KEYWARD_START_TIMEOUT}s; last log lines:" >&2
      tail -n 40 "$state/log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

case "${1:-}" in
  run)
    build
    # Ctrl-C signals the whole foreground pipeline: in `make run | tee log` tee dies at
    # once, and a line then written to its pipe killed this script (SIGPIPE) before it
    # stopped Keycloak, which runs in its own session. So every way out goes through
    # stop_all, which ignores further signals and never depends on its output.
    keyward_pid=""
    stop_all() {
      trap '' INT TERM HUP PIPE
      if [[ -n "$keyward_pid" ]]; then
        kill -TERM "$keyward_pid" 2>/dev/null || true
        wait "$keyward_pid" 2>/dev/null || true
      fi
      scripts/keycloak.sh stop || true
    }
    trap stop_all EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    trap 'exit 141' PIPE
    scripts/keycloak.sh start
    scripts/keycloak.sh wait
    next_steps
    # In the background, so that a signal runs the trap at once instead of after
    # Keyward exits; Keyward handles SIGINT itself (Go undoes the ignore of `&`).
    KEYWARD_LOG_FORMAT="${KEYWARD_LOG_FORMAT:-console}" "$bin" server &
    keyward_pid=$!
    wait "$keyward_pid"
    ;;
  up)
    build
    scripts/keycloak.sh start
    scripts/keycloak.sh wait
    if kill -0 "$(cat "$state/pid" 2>/dev/null)" 2>/dev/null; then
      echo "Keyward is already running (pid $(cat "$state/pid"))"
    else
      nohup "$bin" server >"$state/log" 2>&1 &
      echo $! >"$state/pid"
    fi
    wait_ready
    next_steps
    ;;
  down)
    if [[ -f "$state/pid" ]]; then
      pid="$(cat "$state/pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$state/pid"
      echo "Keyward stopped"
    fi
    scripts/keycloak.sh stop
    ;;
  *)
    echo "usage: $0 run|up|down" >&2
    exit 2
    ;;
esac
