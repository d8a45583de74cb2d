package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// LimitedGrant is the part of Keycloak the limited-key minter needs.
type LimitedGrant interface {
	JWTBearerGrantAs(ctx context.Context, clientID, clientAssertion, assertion, scope string) (keycloak.Token, error)
	ExpandRoles(ctx context.Context, roleIDs []string) (keycloak.Roles, error)
}

// LimitedMinter obtains tokens for keys limited to some of their owner's roles: the
// owner's JWT Authorization Grant, posted as the limited client
// (keycloak.EnsureLimitedClient) with the key's role scopes (kwr.<role id>). The
// assertion's scope claim holds the same scope, the ceiling the realm's
// downscope-assertion-grant-enforcer policy applies where the operator set it up.
type LimitedMinter struct {
	signer   *Signer
	kc       LimitedGrant
	clientID string
	deny     RoleDenylist
}

// NewLimitedMinter returns the limited-key minter for the limited client clientID.
func NewLimitedMinter(signer *Signer, kc LimitedGrant, clientID string, deny RoleDenylist) *LimitedMinter {
	return &LimitedMinter{signer: signer, kc: kc, clientID: clientID, deny: deny}
}

// LimitedScope is the scope a limited key asks for: openid, profile and email (which
// unrestricted tokens carry as default scopes, and the downscope policy keeps only when
// asked for), the key's scopes and its role scopes; sorted, without repeats.
func LimitedScope(scope string, roleIDs []string) string {
	s := append(strings.Fields(scope), "openid", "profile", "email")
	for _, id := range roleIDs {
		s = append(s, keycloak.RoleScopeName(id))
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), " ")
}

// Mint asks Keycloak for ownerID's token limited to the roles roleIDs (ids of realm
// or client roles) and checks it before it is handed out: a *WithheldError when it is
// not the owner's, was issued to another client, carries a denylisted role, or a role
// outside roleIDs expanded through composites. A key without roles is not limited:
// it is refused here, unrestricted keys go through JWTGrantMinter.
func (m *LimitedMinter) Mint(ctx context.Context, ownerID, scope string, roleIDs []string) (keycloak.Token, error) {
	if len(roleIDs) == 0 {
		return keycloak.Token{}, errors.New("limited key: no roles")
	}
	full := LimitedScope(scope, roleIDs)
	assertion, err := m.signer.ScopedAssertion(ownerID, full)
	if err != nil {
		return keycloak.Token{}, err
	}
	clientAssertion, err := m.signer.ClientAssertion(m.clientID)
	if err != nil {
		return keycloak.Token{}, err
	}
	tok, err := m.kc.JWTBearerGrantAs(ctx, m.clientID, clientAssertion, assertion, full)
	if err != nil {
		return keycloak.Token{}, err
	}
	if err := m.check(ctx, ownerID, roleIDs, tok); err != nil {
		return keycloak.Token{}, err
	}
	return tok, nil
}

func (m *LimitedMinter) check(ctx context.Context, ownerID string, roleIDs []string, tok keycloak.Token) error {
	claims, err := keycloak.ReadIssued(tok.AccessToken)
	if err != nil {
		return err
	}
	switch {
	case claims.Subject != ownerID:
		return withheld(OutcomeError, "keycloak issued a token for another subject")
	case claims.AuthParty != m.clientID:
		return withheld(OutcomeError, "the token was issued to client %q, not to the limited client", claims.AuthParty)
	}
	if role, denied := m.deny.Match(claims.Roles); denied {
		return withheld(OutcomeDeniedRole, "the token carries the denied role %s", role)
	}
	allowed, err := m.kc.ExpandRoles(ctx, roleIDs)
	if err != nil {
		return fmt.Errorf("limited key: expand its roles: %w", err)
	}
	if extra := outside(claims.Roles, allowed); len(extra) > 0 {
		return withheld(OutcomeOutsideLimit, "the token carries roles outside the key's: %s", strings.Join(extra, ", "))
	}
	return nil
}

// outside lists the roles of got that allowed lacks ("name" or "client:name"), sorted.
func outside(got, allowed keycloak.Roles) []string {
	var out []string
	for _, r := range got.Realm {
		if !slices.Contains(allowed.Realm, r) {
			out = append(out, r)
		}
	}
	for client, roles := range got.Clients {
		for _, r := range roles {
			if !slices.Contains(allowed.Clients[client], r) {
				out = append(out, client+":"+r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// LimitedKeyMinter mints the tokens of keys limited to roles (LimitedMinter).
type LimitedKeyMinter interface {
	Mint(ctx context.Context, ownerID, scope string, roleIDs []string) (keycloak.Token, error)
}

// mintLimited is the exchange's case for a key limited to roles: the limited
// minter's own check (the token's roles within the key's), then the exchanger's.
func (e *Exchanger) mintLimited(ctx context.Context, key models.Key, scope string, roleIDs []string) (keycloak.Token, error) {
	if e.cfg.Limited == nil {
		return keycloak.Token{}, errors.New("a key limited to roles, and no limited minter configured")
	}
	return e.cfg.Limited.Mint(ctx, key.OwnerID, scope, roleIDs)
}
