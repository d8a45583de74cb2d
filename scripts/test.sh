#!/usr/bin/env bash
# `make test`: static checks, then every Go test, with a real Keycloak (dev realm) and a
# throw-away PostgreSQL started here and stopped on exit. Ports differ from `make up`'s
# so both can run side by side.
#
#   scripts/test.sh        everything, then stop what it started
#   scripts/test.sh up     for development: start the test stack and leave it running;
#                          `source "$KEYWARD_RUN_DIR/test.env"` then `go test ./pkg/...`
#   scripts/test.sh down   stop what `up` started
set -euo pipefail
mode="${1:-all}"
cd "$(dirname "$0")/.."

export KEYWARD_RUN_DIR="${KEYWARD_TEST_RUN_DIR:-${TMPDIR:-/tmp}/keyward-test-$(id -u)}"
export KEYCLOAK_PORT="${KEYWARD_TEST_KEYCLOAK_PORT:-18180}"
export KEYCLOAK_MGMT_PORT="${KEYWARD_TEST_KEYCLOAK_MGMT_PORT:-19000}"
test_addr="127.0.0.1:${KEYWARD_TEST_PORT:-18080}"
export KEYWARD_PUBLIC_URL="http://$test_addr"
source scripts/env.sh

keyward_pid_file="$KEYWARD_RUN_DIR/keyward-shared.pid"
cleanup() {
  if [[ -f "$keyward_pid_file" ]]; then
    kill "$(cat "$keyward_pid_file")" 2>/dev/null || true
    rm -f "$keyward_pid_file"
  fi
  scripts/keycloak.sh stop || true
  scripts/pg.sh stop || true
  scripts/redis.sh stop || true
  scripts/smtp-sink.sh stop || true
}
env_file="$KEYWARD_RUN_DIR/test.env"
if [[ "$mode" == down ]]; then
  cleanup
  rm -f "$env_file"
  exit 0
fi
[[ "$mode" == up ]] || trap cleanup EXIT

if [[ "$mode" == all ]]; then
echo "== static checks"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
fi

echo "== starting PostgreSQL and Keycloak"
scripts/pg.sh start
KEYWARD_TEST_DATABASE_URL="$(scripts/pg.sh url)"
scripts/redis.sh start >/dev/null          # its URL holds a password: not printed
KEYWARD_TEST_REDIS_URL="$(scripts/redis.sh url)"
scripts/smtp-sink.sh start                 # a real SMTP server for the mail tests
KEYWARD_TEST_SMTP_URL="$(scripts/smtp-sink.sh url)" KEYWARD_TEST_SMTP_DIR="$(scripts/smtp-sink.sh dir)"
scripts/keycloak.sh start
scripts/keycloak.sh wait

# One shared Keyward on the address the realm's identity provider trusts: Keycloak
# fetches the assertion keys from it, and tests of the client libraries call it. Tests
# that need their own instance run it in-process on any port, with the same signing key
# and public URL, so Keycloak accepts their assertions too.
echo "== starting the shared Keyward on $test_addr"
shared="$KEYWARD_RUN_DIR/keyward-shared"
rm -rf "$shared" && mkdir -p "$shared"
go build -o "$shared/keyward" ./cmd/keyward
KEYWARD_LISTEN_ADDR="$test_addr" KEYWARD_KEYCLOAK_URL="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT" \
  KEYWARD_CLIENT_SECRET=keyward-dev-secret KEYWARD_ADMIN_CLIENT_SECRET=keyward-management-dev-secret KEYWARD_DATA_DIR="$shared/data" \
  KEYWARD_SIGNING_KEY_FILE="$KEYWARD_RUN_DIR/signing-key.pem" \
  KEYWARD_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8,::1/128 \
  KEYWARD_CONSOLE_CLIENT_SECRET=keyward-console-dev-secret \
  nohup "$shared/keyward" server >"$shared/log" 2>&1 &
echo $! >"$keyward_pid_file"
for i in $(seq 1 120); do
  curl -fsS -o /dev/null "$KEYWARD_PUBLIC_URL/readyz" 2>/dev/null && break
  if ! kill -0 "$(cat "$keyward_pid_file")" 2>/dev/null || ((i == 120)); then
    echo "error: the shared Keyward did not become ready; log tail:" >&2
    tail -n 40 "$shared/log" >&2
    exit 1
  fi
  sleep 0.5
done

export KEYWARD_TEST_DATABASE_URL KEYWARD_TEST_REDIS_URL KEYWARD_TEST_SMTP_URL KEYWARD_TEST_SMTP_DIR
export KEYWARD_TEST_KEYCLOAK_URL="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
export KEYWARD_TEST_KEYWARD_URL="$KEYWARD_PUBLIC_URL"
export KEYWARD_TEST_PUBLIC_URL="$KEYWARD_PUBLIC_URL"
export KEYWARD_TEST_SIGNING_KEY_FILE="$KEYWARD_RUN_DIR/signing-key.pem"
export KEYWARD_REQUIRE_INTEGRATION=1

# One venv for the Python client's tests and the docs' Python snippets (docs/snippets_test.go):
# the client, requests and pandas. Without it those tests fail, the Go ones still run.
echo "== python venv"
mkdir -p "$KEYWARD_RUN_DIR"
if ! KEYWARD_TEST_PYTHON="$(scripts/test-python.sh venv 2>"$KEYWARD_RUN_DIR/python-venv.log")"; then
  echo "error: the python venv was not built; log tail:" >&2
  tail -n 20 "$KEYWARD_RUN_DIR/python-venv.log" >&2
  KEYWARD_TEST_PYTHON=""
fi
export KEYWARD_TEST_PYTHON

if [[ "$mode" == up ]]; then
  # The Redis URL holds a password: the file is the developer's own.
  (umask 077 && for v in KEYWARD_TEST_DATABASE_URL KEYWARD_TEST_REDIS_URL KEYWARD_TEST_KEYCLOAK_URL \
    KEYWARD_TEST_KEYWARD_URL KEYWARD_TEST_PUBLIC_URL KEYWARD_TEST_SIGNING_KEY_FILE KEYWARD_REQUIRE_INTEGRATION \
    KEYWARD_TEST_SMTP_URL KEYWARD_TEST_SMTP_DIR KEYWARD_TEST_PYTHON; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done >"$env_file")
  echo "test stack up; for go test: source $env_file (scripts/test.sh down stops it)"
  exit 0
fi

echo "== go test"
log="$KEYWARD_RUN_DIR/go-test.log"
mkdir -p "$KEYWARD_RUN_DIR"
status=0
go test -count=1 -timeout 20m -v ./... >"$log" 2>&1 || status=$?
# Package results and every failure, without the verbose noise.
grep -E '^(ok|FAIL|panic:|---( FAIL)?|\s+--- FAIL|\?)|^\s+\S+_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if ((skipped > 0)); then
  echo "skipped tests (none may skip under make test):"
  grep -E -A1 '^\s*--- SKIP' "$log"
  status=1
fi
echo "== python client (pytest against the same stack)"
pylog="$KEYWARD_RUN_DIR/pytest.log"
if scripts/test-python.sh >"$pylog" 2>&1; then
  tail -n 1 "$pylog"
else
  status=1
  tail -n 40 "$pylog"
fi
py_passed=$(grep -oE '[0-9]+ passed' "$pylog" | tail -1 | grep -oE '[0-9]+' || echo 0)
py_failed=$(grep -oE '[0-9]+ failed' "$pylog" | tail -1 | grep -oE '[0-9]+' || echo 0)
echo "summary: $((passed + py_passed)) passed, $((failed + py_failed)) failed, $skipped skipped"
exit "$status"
