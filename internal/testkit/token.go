// Package testkit holds what tests of several packages share: the test clock, the
// rule that skips an integration test without its server (or fails it when integration
// is required) and the checks of helpers built on that rule, and Keycloak-shaped tokens
// for fakes. Tests only; nothing of Keyward's own may import it.
package testkit

import (
	"encoding/base64"
	"encoding/json"
)

// IssuedToken is an access token shaped like Keycloak's (header.payload.signature)
// for fakes of the token endpoint: the exchange reads its subject and roles before
// handing it out. The signature is not a signature; nothing verifies it.
func IssuedToken(sub, username string, realmRoles []string, clientRoles map[string][]string) string {
	payload := map[string]any{"sub": sub, "preferred_username": username, "typ": "Bearer"}
	if realmRoles != nil {
		payload["realm_access"] = map[string]any{"roles": realmRoles}
	}
	if len(clientRoles) > 0 {
		ra := map[string]any{}
		for c, roles := range clientRoles {
			ra[c] = map[string]any{"roles": roles}
		}
		payload["resource_access"] = ra
	}
	b, _ := json.Marshal(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(b) + ".c2ln"
}
