package exchange

import (
	"context"
	"slices"
	"testing"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// fakeLimited stands for the LimitedMinter: it records what it was asked, and answers
// a token with realmRoles or the error err.
type fakeLimited struct {
	err        error
	realmRoles []string
	asked      [][]string
}

func (f *fakeLimited) Mint(_ context.Context, owner, scope string, roleIDs []string) (keycloak.Token, error) {
	f.asked = append(f.asked, roleIDs)
	if f.err != nil {
		return keycloak.Token{}, f.err
	}
	return keycloak.Token{AccessToken: testkit.IssuedToken(owner, "user", f.realmRoles, nil), ExpiresIn: 300, Scope: scope}, nil
}

func limitedExchanger(t *testing.T, lim LimitedKeyMinter, deny []string) (*Exchanger, *fakeMinter, func(roles string) string) {
	h := testHasher(t)
	store := mapFinder{}
	add := func(roles string) string {
		p, _ := GenerateKey(EnvLive)
		store[p.LookupID] = models.Key{ID: p.LookupID, OwnerID: "user-1", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret),
			Enabled: true, Environment: "production", Roles: roles}
		return p.String()
	}
	d, _ := NewRoleDenylist(deny)
	m := &fakeMinter{}
	cfg := ExchangerConfig{Keys: store, Hasher: h, Minter: m, Deny: d}
	if lim != nil {
		cfg.Limited = lim
	}
	return NewExchanger(cfg), m, add
}

var readLimit = models.JoinKeyRoles([]models.KeyRole{{ID: "role-1", Name: "reports-read"}})

func TestExchange_LimitedKey_MintedByTheLimitedMinterWithItsRoleIDs(t *testing.T) {
	lim := &fakeLimited{realmRoles: []string{"reports-read"}}
	e, m, add := limitedExchanger(t, lim, nil)
	if res := e.Exchange(context.Background(), Request{APIKey: add(readLimit)}); res.Outcome != OutcomeIssued {
		t.Fatalf("outcome %s (%v)", res.Outcome, res.Err)
	}
	if len(lim.asked) != 1 || !slices.Equal(lim.asked[0], []string{"role-1"}) || m.calls != 0 {
		t.Fatalf("limited minter asked %v, unrestricted minter %d times", lim.asked, m.calls)
	}
	// An unrestricted key keeps the unrestricted minter.
	if res := e.Exchange(context.Background(), Request{APIKey: add("")}); res.Outcome != OutcomeIssued || m.calls != 1 || len(lim.asked) != 1 {
		t.Fatalf("unrestricted key: %s, minter %d, limited %d", res.Outcome, m.calls, len(lim.asked))
	}
}

func TestExchange_LimitedKey_Withheld_CountedAsItsOutcome(t *testing.T) {
	lim := &fakeLimited{err: &WithheldError{Outcome: OutcomeOutsideLimit, Reason: "reports-write"}}
	e, _, add := limitedExchanger(t, lim, nil)
	if res := e.Exchange(context.Background(), Request{APIKey: add(readLimit)}); res.Outcome != OutcomeOutsideLimit {
		t.Fatalf("outcome %s", res.Outcome)
	}
}

// The exchanger's own check runs on a limited key's token too.
func TestExchange_LimitedKey_DenylistStillChecked(t *testing.T) {
	lim := &fakeLimited{realmRoles: []string{"keyward-admin"}}
	e, _, add := limitedExchanger(t, lim, []string{"keyward-admin"})
	if res := e.Exchange(context.Background(), Request{APIKey: add(readLimit)}); res.Outcome != OutcomeDeniedRole {
		t.Fatalf("outcome %s", res.Outcome)
	}
}

// Fail closed: a limited key is never minted unrestricted, not even by a server
// without a limited minter or with a column it cannot read.
func TestExchange_LimitedKey_NeverMintedUnrestricted(t *testing.T) {
	e, m, add := limitedExchanger(t, nil, nil)
	if res := e.Exchange(context.Background(), Request{APIKey: add(readLimit)}); res.Outcome != OutcomeError || m.calls != 0 {
		t.Fatalf("no limited minter: %s, unrestricted minter %d", res.Outcome, m.calls)
	}
	lim := &fakeLimited{}
	e, m, add = limitedExchanger(t, lim, nil)
	e.Exchange(context.Background(), Request{APIKey: add("not json")})
	if m.calls != 0 || len(lim.asked) != 1 || !slices.Equal(lim.asked[0], []string{""}) {
		t.Fatalf("unreadable limit: unrestricted %d, limited %v", m.calls, lim.asked)
	}
}
