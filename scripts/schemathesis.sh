#!/bin/sh
# Property-based run of schemathesis against a running Keyward, every check on every
# operation except the ones scripts/schemathesis.toml switches off (each with its
# reason). For developers; not part of make test: generation is random and slow.
#
#   scripts/schemathesis.sh [base URL] [extra schemathesis options]
#
# The bearer token: $KEYWARD_TOKEN, else a password grant of $KEYWARD_ST_USER
# (default carol, password = username as in the dev realm) on the public client
# keyward-cli of $KEYWARD_KEYCLOAK_URL (default http://127.0.0.1:8180), realm
# $KEYWARD_REALM (default keyward). schemathesis: $SCHEMATHESIS (default
# schemathesis on PATH; tested with 4.32.5).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
base=${1:-http://127.0.0.1:8080}
[ $# -gt 0 ] && shift
token=${KEYWARD_TOKEN:-}
if [ -z "$token" ]; then
	kc=${KEYWARD_KEYCLOAK_URL:-http://127.0.0.1:8180}
	user=${KEYWARD_ST_USER:-carol}
	token=$(curl -fsS "$kc/realms/${KEYWARD_REALM:-keyward}/protocol/openid-connect/token" \
		-d grant_type=password -d client_id=keyward-cli \
		--data-urlencode "username=$user" --data-urlencode "password=$user" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
fi
exec "${SCHEMATHESIS:-schemathesis}" --config-file "$here/schemathesis.toml" run "$base/openapi.json" \
	-H "Authorization: Bearer $token" "$@"
