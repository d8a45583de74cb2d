# The dev stack's Keyward settings, shared by scripts/stack.sh and scripts/bench.sh (whose
# Keywards must open the same store as the stack's). Source after scripts/env.sh; every
# value can be overridden from the environment.
: "${KEYWARD_CLIENT_SECRET:=keyward-dev-secret}"   # the dev realm's secrets, dev only
: "${KEYWARD_ADMIN_CLIENT_SECRET:=keyward-management-dev-secret}"
: "${KEYWARD_CONSOLE_CLIENT_SECRET:=keyward-console-dev-secret}"
: "${KEYWARD_DATA_DIR:=$KEYWARD_RUN_DIR/keyward-data}"
: "${KEYWARD_START_TIMEOUT:=60}"
# Dev only: webhooks may reach receivers on this machine (docs/administering/webhooks.md).
: "${KEYWARD_WEBHOOK_ALLOWED_NETWORKS:=127.0.0.0/8,::1/128}"
export KEYWARD_CLIENT_SECRET KEYWARD_ADMIN_CLIENT_SECRET KEYWARD_CONSOLE_CLIENT_SECRET KEYWARD_DATA_DIR
export KEYWARD_WEBHOOK_ALLOWED_NETWORKS
export KEYWARD_LISTEN_ADDR="$KEYWARD_HOST:$KEYWARD_PORT"
export KEYWARD_KEYCLOAK_URL="http://$KEYCLOAK_HOST:$KEYCLOAK_PORT"
