#!/usr/bin/env bash
# A real SMTP server for tests (internal/smtpsink, built from go-smtp): on a free port
# of 127.0.0.1, storing each message it accepts as a file that tests read.
#
#   scripts/smtp-sink.sh start   build and start it (or find it running)
#   scripts/smtp-sink.sh url     print its smtp:// URL
#   scripts/smtp-sink.sh dir     print the directory of the messages
#   scripts/smtp-sink.sh stop    stop it and remove its messages
#
# Environment: KEYWARD_RUN_DIR (state).
set -euo pipefail
cd "$(dirname "$0")/.."
state="${KEYWARD_RUN_DIR:-${TMPDIR:-/tmp}/keyward-run-$(id -u)}/smtp-sink"
say() { echo "smtp-sink.sh: $*" >&2; }

running() { [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

case "${1:-}" in
start)
  if running; then exit 0; fi
  mkdir -p "$state" && chmod 700 "$state"
  rm -rf "$state/messages" "$state/addr"
  go build -o "$state/smtp-sink" ./internal/smtpsink/cmd/smtp-sink
  nohup "$state/smtp-sink" -listen 127.0.0.1:0 -dir "$state/messages" -addr-file "$state/addr" >"$state/log" 2>&1 &
  echo $! >"$state/pid"
  for _ in $(seq 1 50); do
    [[ -s "$state/addr" ]] && { say "SMTP sink on smtp://$(cat "$state/addr") (pid $(cat "$state/pid"))"; exit 0; }
    running || break
    sleep 0.1
  done
  say "the SMTP sink did not start; log:"; cat "$state/log" >&2; exit 1
  ;;
url) echo "smtp://$(cat "$state/addr")" ;;
dir) echo "$state/messages" ;;
stop)
  if running; then kill "$(cat "$state/pid")" 2>/dev/null || true; fi
  rm -rf "$state"
  ;;
*) echo "usage: $0 start|url|dir|stop" >&2; exit 2 ;;
esac
