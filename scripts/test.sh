#!/usr/bin/env bash
# `make test`: static checks, then every Go test, with a real Keycloak (dev realm) and a
# throw-away PostgreSQL started here and stopped on exit. Ports differ from `make up`'s
# so both can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

export KEYWARD_RUN_DIR="${KEYWARD_TEST_RUN_DIR:-${TMPDIR:-/tmp}/keyward-test-$(id -u)}"
export KEYCLOAK_PORT="${KEYWARD_TEST_KEYCLOAK_PORT:-18180}"
export KEYCLOAK_MGMT_PORT="${KEYWARD_TEST_KEYCLOAK_MGMT_PORT:-19000}"
test_addr="127.0.0.1:${KEYWARD_TEST_PORT:-18080}"
export KEYWARD_PUBLIC_URL="http://$test_addr"
source scripts/env.sh

cleanup() {
  scripts/keycloak.sh stop || true
  scripts/pg.sh stop || true
}
trap cleanup EXIT

echo "== static checks"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...

echo "== starting PostgreSQL and Keycloak"
scripts/pg.sh start
KEYWARD_TEST_DATABASE_URL="$(scripts/pg.sh url)"
scripts/keycloak.sh start
scripts/keycloak.sh wait

export KEYWARD_TEST_DATABASE_URL
export KEYWARD_TEST_KEYCLOAK_URL="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
export KEYWARD_TEST_PUBLIC_ADDR="$test_addr"
export KEYWARD_REQUIRE_INTEGRATION=1

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
echo "summary: $passed passed, $failed failed, $skipped skipped"
exit "$status"
