package exchange

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyward/keyward/keycloak"
)

// GrantClient is the part of Keycloak the JWT Authorization Grant strategy needs.
type GrantClient interface {
	EnsureFederatedLink(ctx context.Context, userID, username, alias, linkedID string) error
	JWTBearerGrant(ctx context.Context, assertion, scope string) (keycloak.Token, error)
}

// JWTGrantMinter is the default TokenMinter: Keycloak's JWT Authorization Grant
// (RFC 7523). Keyward signs a one-minute assertion naming the user; Keycloak checks it
// against Keyward's JWKS through the identity provider alias, finds the user by the
// federated link, and issues the user's token on a transient session.
type JWTGrantMinter struct {
	signer *Signer
	kc     GrantClient
	alias  string
}

// NewJWTGrantMinter returns the strategy for identity provider alias.
func NewJWTGrantMinter(signer *Signer, kc GrantClient, alias string) *JWTGrantMinter {
	return &JWTGrantMinter{signer: signer, kc: kc, alias: alias}
}

// Prepare links the owner to Keyward's identity provider. The linked id is the
// Keycloak user id itself: stable, and already known on every exchange.
func (m *JWTGrantMinter) Prepare(ctx context.Context, owner Owner) error {
	if err := m.kc.EnsureFederatedLink(ctx, owner.ID, owner.Username, m.alias, owner.ID); err != nil {
		return fmt.Errorf("link user to identity provider %q: %w", m.alias, err)
	}
	return nil
}

// Mint signs an assertion for ownerID and trades it at Keycloak's token endpoint.
func (m *JWTGrantMinter) Mint(ctx context.Context, ownerID, scope string) (keycloak.Token, error) {
	assertion, err := m.signer.Assertion(ownerID)
	if err != nil {
		return keycloak.Token{}, err
	}
	return m.kc.JWTBearerGrant(ctx, assertion, withOpenID(scope))
}

// withOpenID adds the openid scope: without it Keycloak's userinfo endpoint refuses the
// token (403), and resource servers commonly call userinfo.
func withOpenID(scope string) string {
	for _, s := range strings.Fields(scope) {
		if s == "openid" {
			return scope
		}
	}
	return strings.TrimSpace("openid " + scope)
}
