#!/usr/bin/env bash
# The Python venv of the tests, and the tests of the Python client (clients/python).
#
#   scripts/test-python.sh venv [DIR]  build the venv in DIR (default $KEYWARD_RUN_DIR/python-venv)
#                                      and print its python: `make test` exports it as
#                                      KEYWARD_TEST_PYTHON for the docs' Python snippets
#   scripts/test-python.sh             pytest, in the venv KEYWARD_TEST_PYTHON names, else in
#                                      one built now
#
# The venv holds the client installed as a user would, with `pip install ./clients/python`,
# and clients/python/requirements-test.txt (pytest, and pandas and requests for the
# snippets), pinned. The stack tests need KEYWARD_TEST_KEYCLOAK_URL and
# KEYWARD_TEST_KEYWARD_URL (scripts/test.sh exports them); with
# KEYWARD_REQUIRE_INTEGRATION=1 their absence fails the run. Exits non-zero when any test
# fails or when no test ran (pytest's exit 5).
set -euo pipefail
mode="${1:-test}"
cd "$(dirname "$0")/.."

build_venv() {
  local venv="$1"
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || { echo "test-python.sh: $python not found (Python >= 3.9 is needed)" >&2; exit 1; }
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    { echo "test-python.sh: $("$python" --version 2>&1) is too old: Python >= 3.9 is needed" >&2; exit 1; }
  echo "== python venv in $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    echo "test-python.sh: '$python -m venv' failed; on Debian install python3-venv" >&2
    exit 1
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r clients/python/requirements-test.txt ./clients/python >&2
}

case "$mode" in
venv)
  venv="${2:-${KEYWARD_RUN_DIR:+$KEYWARD_RUN_DIR/python-venv}}"
  [[ -n "$venv" ]] || { echo "usage: scripts/test-python.sh venv DIR (or set KEYWARD_RUN_DIR)" >&2; exit 2; }
  [[ "$venv" == /* ]] || venv="$PWD/$venv"
  build_venv "$venv"
  echo "$venv/bin/python"
  exit 0
  ;;
test) ;;
*) echo "usage: scripts/test-python.sh [venv [DIR]]" >&2; exit 2 ;;
esac

if [[ -n "${KEYWARD_TEST_PYTHON:-}" ]]; then
  venv="$(cd "$(dirname "$KEYWARD_TEST_PYTHON")/.." && pwd)"
  echo "== python client: the venv of KEYWARD_TEST_PYTHON, $venv"
elif [[ -n "${KEYWARD_RUN_DIR:-}" ]]; then
  venv="$KEYWARD_RUN_DIR/python-venv"
  build_venv "$venv"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  venv="$tmp/python-venv"
  build_venv "$venv"
fi

# From a directory outside the source tree, so that `import keyward` is the installed
# package and not clients/python/src.
status=0
(cd "$venv" && "$venv/bin/python" -m pytest -p no:cacheprovider -rfEs "$OLDPWD/clients/python/tests") || status=$?
case "$status" in
  0) ;;
  5) echo "test-python.sh: pytest collected no tests" >&2; exit 1 ;;
  *) exit "$status" ;;
esac
