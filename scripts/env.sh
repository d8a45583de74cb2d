# Shared settings for the scripts: every value can be overridden from the environment.
# The Keycloak version is pinned here and nowhere else.
: "${KEYCLOAK_VERSION:=26.7.3}"
: "${KEYWARD_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/keyward}"
: "${KEYCLOAK_HOST:=127.0.0.1}"
: "${KEYCLOAK_PORT:=8180}"
: "${KEYCLOAK_ADMIN_USER:=admin}"
: "${KEYCLOAK_ADMIN_PASSWORD:=admin}"
: "${KEYWARD_HOST:=127.0.0.1}"
: "${KEYWARD_PORT:=8080}"
: "${KEYWARD_RUN_DIR:=${TMPDIR:-/tmp}/keyward-run-$(id -u)}"
# Keycloak's management interface (health): must not collide with anything else.
: "${KEYCLOAK_MGMT_PORT:=9000}"
: "${KEYCLOAK_REALM:=keyward}"
: "${KEYCLOAK_URL:=http://$KEYCLOAK_HOST:$KEYCLOAK_PORT}"
# Seconds `scripts/keycloak.sh wait` waits for the realm to answer.
: "${KEYCLOAK_START_TIMEOUT:=180}"
# JVM heap for Keycloak (kc.sh's JAVA_OPTS_KC_HEAP): modest, the machine may be small.
: "${KEYCLOAK_JAVA_HEAP:=-Xms256m -Xmx768m}"
# Keyward's public base URL: the issuer of its JWT assertions and the base of its JWKS
# URL. The realm's identity provider `keyward` is imported with this value.
: "${KEYWARD_PUBLIC_URL:=http://$KEYWARD_HOST:$KEYWARD_PORT}"
export KEYCLOAK_VERSION KEYWARD_CACHE KEYCLOAK_HOST KEYCLOAK_PORT KEYCLOAK_ADMIN_USER \
  KEYCLOAK_ADMIN_PASSWORD KEYWARD_HOST KEYWARD_PORT KEYWARD_RUN_DIR KEYCLOAK_MGMT_PORT \
  KEYCLOAK_REALM KEYCLOAK_URL KEYCLOAK_START_TIMEOUT KEYCLOAK_JAVA_HEAP KEYWARD_PUBLIC_URL
