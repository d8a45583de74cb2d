#!/usr/bin/env bash
# Fetches the pinned Keycloak distribution once (Maven artifact, by coordinates) and
# unpacks it into the cache. Prints the Keycloak home directory.
set -euo pipefail
source "$(dirname "$0")/env.sh"

home="$KEYWARD_CACHE/keycloak-$KEYCLOAK_VERSION"
if [[ -x "$home/bin/kc.sh" ]]; then
  echo "$home"
  exit 0
fi
command -v mvn >/dev/null || { echo "error: mvn (Maven) is required to fetch Keycloak" >&2; exit 1; }
command -v unzip >/dev/null || command -v jar >/dev/null || command -v python3 >/dev/null ||
  { echo "error: unzip, jar or python3 is required to unpack Keycloak" >&2; exit 1; }

mkdir -p "$KEYWARD_CACHE"
zip="$KEYWARD_CACHE/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
if [[ ! -s "$zip" ]]; then
  echo "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip with Maven..." >&2
  mvn -q -B dependency:copy \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
    -DoutputDirectory="$KEYWARD_CACHE" -Dmdep.overWriteIfNewer=true >&2
fi
tmp="$(mktemp -d "$KEYWARD_CACHE/unpack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
if command -v unzip >/dev/null; then
  unzip -q "$zip" -d "$tmp"
else
  python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tmp"
fi
chmod +x "$tmp"/keycloak-*/bin/*.sh
rm -rf "$home"
mv "$tmp"/keycloak-* "$home"
echo "$home"
