package provisioning

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/keyward/keyward/keycloak"
)

// decodeToken reads the header and payload of an access token Keycloak has just issued
// to us over our own connection; nothing is trusted from it beyond display.
func decodeToken(tok keycloak.Token) (TokenTest, error) {
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		return TokenTest{}, errors.New("keycloak issued a token that is not a JWT")
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return TokenTest{}, errors.New("keycloak issued a token with an unreadable header")
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return TokenTest{}, errors.New("keycloak issued a token with an unreadable payload")
	}
	out := TokenTest{Valid: true, ExpiresIn: tok.ExpiresIn, Scope: tok.Scope, Header: header, Payload: payload,
		ACLGroups: []string{}}
	if raw, ok := payload[keycloak.ACLGroupsClaim]; ok {
		out.ACLClaimPresent = true
		list, _ := raw.([]any)
		for _, v := range list {
			if s, ok := v.(string); ok {
				out.ACLGroups = append(out.ACLGroups, s)
			}
		}
	}
	return out, nil
}

func decodeSegment(seg string) (map[string]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
