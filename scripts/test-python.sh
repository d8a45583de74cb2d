#!/usr/bin/env bash
# Tests of the Python client (clients/python): installs it as a user would, with
# `pip install ./clients/python`, into a fresh venv, and runs pytest. The stack tests
# need KEYWARD_TEST_KEYCLOAK_URL and KEYWARD_TEST_KEYWARD_URL (scripts/test.sh exports
# them); with KEYWARD_REQUIRE_INTEGRATION=1 their absence fails the run.
#
# The venv lives in $KEYWARD_RUN_DIR/python-venv, or in a temporary directory removed
# on exit. Exits non-zero when any test fails or when no test ran (pytest's exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "test-python.sh: $python not found (Python >= 3.9 is needed)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
  { echo "test-python.sh: $("$python" --version 2>&1) is too old: Python >= 3.9 is needed" >&2; exit 1; }

if [[ -n "${KEYWARD_RUN_DIR:-}" ]]; then
  mkdir -p "$KEYWARD_RUN_DIR"
  venv="$KEYWARD_RUN_DIR/python-venv"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  venv="$tmp/python-venv"
fi

echo "== python client: venv in $venv"
rm -rf "$venv"
if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
  echo "test-python.sh: '$python -m venv' failed; on Debian install python3-venv" >&2
  exit 1
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python pytest

# From a directory outside the source tree, so that `import keyward` is the installed
# package and not clients/python/src.
status=0
(cd "$venv" && "$venv/bin/python" -m pytest -p no:cacheprovider -rfEs "$OLDPWD/clients/python/tests") || status=$?
case "$status" in
  0) ;;
  5) echo "test-python.sh: pytest collected no tests" >&2; exit 1 ;;
  *) exit "$status" ;;
esac
