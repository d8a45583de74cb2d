#!/usr/bin/env bash
# `make image`: builds Keyward's container image from deploy/Containerfile.
#
#   scripts/image.sh             build the binary and the context, then the image
#   scripts/image.sh --context   only assemble the build context (for docker / compose)
#
# The context (bin/image/, or $KEYWARD_IMAGE_CONTEXT) holds the static binary built here
# (CGO_ENABLED=0), the host's CA bundle and an empty data directory; none of it is
# committed. The image is built with buildah, else podman, else docker, FROM scratch:
# nothing is pulled. Settings:
#   KEYWARD_IMAGE            image name (default localhost/keyward:latest)
#   KEYWARD_PODMAN_ROOT      private container storage: --root $it/root --runroot $it/run
#                            (default: the tool's own storage)
#   CONTAINERS_CONF          default: deploy/podman/containers.conf (runc, cgroupfs, no ulimits)
# The last line printed is the image name and its size.
set -euo pipefail
cd "$(dirname "$0")/.."

context_only=false
[[ "${1:-}" == --context ]] && context_only=true

image="${KEYWARD_IMAGE:-localhost/keyward:latest}"
ctx="${KEYWARD_IMAGE_CONTEXT:-bin/image}"
ca_bundle="${KEYWARD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

[[ -f "$ca_bundle" ]] || { echo "image.sh: no CA bundle at $ca_bundle (install ca-certificates or set KEYWARD_CA_BUNDLE)" >&2; exit 1; }

rm -rf "$ctx" && mkdir -p "$ctx/data"
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=$version" \
  -o "$ctx/keyward" ./cmd/keyward
cp "$ca_bundle" "$ctx/ca-certificates.crt"
chmod 0700 "$ctx/data"   # as Keyward wants its data directory
if $context_only; then
  echo "build context ready in $ctx (version $version)"
  exit 0
fi

export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"
storage=()
if [[ -n "${KEYWARD_PODMAN_ROOT:-}" ]]; then
  storage=(--root "$KEYWARD_PODMAN_ROOT/root" --runroot "$KEYWARD_PODMAN_ROOT/run")
fi
build_args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created"
  -f deploy/Containerfile -t "$image" "$ctx")
if command -v buildah >/dev/null; then
  buildah "${storage[@]}" build --quiet "${build_args[@]}" >/dev/null
elif command -v podman >/dev/null; then
  podman "${storage[@]}" build --quiet "${build_args[@]}" >/dev/null
elif command -v docker >/dev/null; then
  docker build --quiet "${build_args[@]}" >/dev/null
else
  echo "image.sh: needs buildah, podman or docker (on Debian: apt-get install buildah podman runc)" >&2
  exit 1
fi
if command -v podman >/dev/null; then
  size="$(podman "${storage[@]}" image inspect --format '{{.Size}}' "$image")"
else
  size="$(docker image inspect --format '{{.Size}}' "$image")"
fi
echo "built $image ($version), $((size / 1024 / 1024)) MiB ($size bytes)"
