package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyward/keyward/keycloak"
)

// WithheldError: Keycloak issued a token that fails Keyward's check, so it is not
// handed out (fail closed). Outcome is how the exchange counts it.
type WithheldError struct {
	Outcome Outcome
	Reason  string
}

func (e *WithheldError) Error() string { return "issued token withheld: " + e.Reason }

func withheld(o Outcome, format string, args ...any) error {
	return &WithheldError{Outcome: o, Reason: fmt.Sprintf(format, args...)}
}

// OutcomeOutsideLimit: a limited key's token carries a role outside the key's roles.
const OutcomeOutsideLimit Outcome = "outside_limit"

// KeyClientGrant is the part of Keycloak the consumer-key minter needs.
type KeyClientGrant interface {
	ClientCredentialsWithAssertion(ctx context.Context, clientID, clientAssertion, scope string) (keycloak.Token, error)
}

// ConsumerMinter obtains tokens for consumer keys: the consumer's key client
// (keycloak.EnsureKeyClient) trades a client assertion that Keyward signs for its
// service account's token (client_credentials). No secret is stored for it.
type ConsumerMinter struct {
	signer *Signer
	kc     KeyClientGrant
	deny   RoleDenylist
}

// NewConsumerMinter returns the consumer-key minter; deny is the exchange's denylist.
func NewConsumerMinter(signer *Signer, kc KeyClientGrant, deny RoleDenylist) *ConsumerMinter {
	return &ConsumerMinter{signer: signer, kc: kc, deny: deny}
}

// Mint asks Keycloak for the key client's token with scope and checks it before it is
// handed out: a *WithheldError when it fails the check.
func (m *ConsumerMinter) Mint(ctx context.Context, client keycloak.KeyClientIDs, scope string) (keycloak.Token, error) {
	if client.ClientID == "" || client.ServiceAccountID == "" {
		return keycloak.Token{}, errors.New("consumer key: the key client is not known")
	}
	assertion, err := m.signer.ClientAssertion(client.ClientID)
	if err != nil {
		return keycloak.Token{}, err
	}
	tok, err := m.kc.ClientCredentialsWithAssertion(ctx, client.ClientID, assertion, withOpenID(scope))
	if err != nil {
		return keycloak.Token{}, err
	}
	if err := m.check(client, tok); err != nil {
		return keycloak.Token{}, err
	}
	return tok, nil
}

// check: the token is the key client's service account's, issued to the key client,
// and carries no role at all. The key client has no scope mappings and is never full
// scope, so a role means someone changed it in Keycloak; a denylisted one is named.
func (m *ConsumerMinter) check(client keycloak.KeyClientIDs, tok keycloak.Token) error {
	claims, err := keycloak.ReadIssued(tok.AccessToken)
	if err != nil {
		return err
	}
	switch {
	case claims.Subject != client.ServiceAccountID:
		return withheld(OutcomeError, "the token's subject is not the key client's service account")
	case claims.AuthParty != client.ClientID:
		return withheld(OutcomeError, "the token was issued to client %q, not to the key client", claims.AuthParty)
	}
	if role, denied := m.deny.Match(claims.Roles); denied {
		return withheld(OutcomeDeniedRole, "the token carries the denied role %s", role)
	}
	if n := countRoles(claims.Roles); n > 0 {
		return withheld(OutcomeDeniedRole, "the token carries %d roles; a consumer key's carries none", n)
	}
	return nil
}

func countRoles(r keycloak.Roles) int {
	n := len(r.Realm)
	for _, roles := range r.Clients {
		n += len(roles)
	}
	return n
}
