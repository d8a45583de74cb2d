#!/usr/bin/env bash
# The tools of the chart tests, built or installed once and cached under
# $KEYWARD_CACHE/deploy-tools (default ~/.cache/keyward/deploy-tools):
#
#   scripts/deploy-tools.sh helm                 path of helm, built from its Go module at
#                                                the version pinned in deploy/tools/go.mod
#   scripts/deploy-tools.sh kubernetes-validate  path of the validator, pip-installed at the
#                                                versions of deploy/tools/requirements.txt
#   scripts/deploy-tools.sh gatewaycheck         path of the Envoy/Traefik recipe checker,
#                                                built from deploy/tools/gatewaycheck (a module
#                                                of its own: its pins stay apart from helm's)
#
# The cache key is the hash of the pinning file, so changing a pin rebuilds. Prints the
# path alone on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

tools="$KEYWARD_CACHE/deploy-tools"
mkdir -p "$tools"
# One build or install at a time: test runs of several trees share the cache.
exec 9>"$tools/.lock"
flock 9
hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

case "${1:-}" in
  helm)
    bin="$tools/helm-$(hash_of deploy/tools/go.mod deploy/tools/go.sum)"
    if [[ ! -x "$bin" ]]; then
      (cd deploy/tools && CGO_ENABLED=0 go build -o "$bin.tmp" helm.sh/helm/v3/cmd/helm) >&2
      mv "$bin.tmp" "$bin"
      # Builds of older pins are 100 MB each.
      find "$tools" -maxdepth 1 -name 'helm-*' ! -name "${bin##*/}" -delete
    fi
    echo "$bin"
    ;;
  kubernetes-validate)
    venv="$tools/kubernetes-validate-$(hash_of deploy/tools/requirements.txt)"
    # The stamp is written last: a venv without it is an interrupted install.
    if [[ ! -f "$venv/installed" ]]; then
      rm -rf "$venv"
      python3 -m venv "$venv" >&2 ||
        { echo "deploy-tools.sh: 'python3 -m venv' failed; on Debian install python3-venv" >&2; exit 1; }
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        -r deploy/tools/requirements.txt >&2
      touch "$venv/installed"
    fi
    echo "$venv/bin/kubernetes-validate"
    ;;
  gatewaycheck)
    src=deploy/tools/gatewaycheck
    bin="$tools/gatewaycheck-$(hash_of "$src/go.mod" "$src/go.sum" "$src/main.go")"
    if [[ ! -x "$bin" ]]; then
      (cd "$src" && CGO_ENABLED=0 go build -o "$bin.tmp" .) >&2
      mv "$bin.tmp" "$bin"
      find "$tools" -maxdepth 1 -name 'gatewaycheck-*' ! -name "${bin##*/}" -delete
    fi
    echo "$bin"
    ;;
  *)
    echo "usage: scripts/deploy-tools.sh helm|kubernetes-validate|gatewaycheck" >&2
    exit 2
    ;;
esac
