package exchange

import (
	"context"
	"errors"
	"testing"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

type keyClientMap map[string]keycloak.KeyClientIDs

func (m keyClientMap) KeyClientOf(_ context.Context, id string) (keycloak.KeyClientIDs, error) {
	c, ok := m[id]
	if !ok {
		return c, models.ErrNotFound
	}
	return c, nil
}

type fakeConsumerMinter struct {
	err    error
	client keycloak.KeyClientIDs
}

func (f *fakeConsumerMinter) Mint(_ context.Context, c keycloak.KeyClientIDs, _ string) (keycloak.Token, error) {
	f.client = c
	if f.err != nil {
		return keycloak.Token{}, f.err
	}
	return keycloak.Token{AccessToken: testkit.IssuedToken(c.ServiceAccountID, "service-account-"+c.ClientID, nil, nil), ExpiresIn: 300}, nil
}

// A consumer key goes to the consumer minter with its key client, never to the
// person's minter, and the person checks (subject = owner, not a service account) do
// not refuse its service account's token.
func TestExchange_ConsumerKey_MintedByTheKeyClient(t *testing.T) {
	h := testHasher(t)
	const consumer = "0b0e7c3e-5f7a-4b8e-9c59-2b1f6f2d3a11"
	client := keycloak.KeyClientIDs{ID: "kc-1", ClientID: "kw-keys-" + consumer, ServiceAccountID: "sa-1"}
	p, _ := GenerateKey(EnvLive)
	key := models.Key{ID: "k1", OwnerID: models.ConsumerOwnerID(consumer), OwnerType: models.OwnerConsumer, ConsumerID: consumer,
		LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, Environment: "production"}
	cases := []struct {
		name    string
		clients keyClientMap
		err     error
		want    Outcome
	}{
		{"issued", keyClientMap{consumer: client}, nil, OutcomeIssued},
		{"consumer deleted", keyClientMap{}, nil, OutcomeInactive},
		{"key client disabled", keyClientMap{consumer: client}, keycloak.ErrInvalidClient, OutcomeInactive},
		{"token withheld", keyClientMap{consumer: client}, &WithheldError{Outcome: OutcomeDeniedRole, Reason: "a role"}, OutcomeDeniedRole},
		{"keycloak down", keyClientMap{consumer: client}, keycloak.ErrUnavailable, OutcomeUnavailable},
		{"something else", keyClientMap{consumer: client}, errors.New("boom"), OutcomeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			person := &fakeMinter{}
			cm := &fakeConsumerMinter{err: tc.err}
			e := NewExchanger(ExchangerConfig{Keys: mapFinder{p.LookupID: key}, Hasher: h, Minter: person,
				Principals: saChecker{}, KeyClients: tc.clients, ConsumerMinter: cm})
			res := e.Exchange(context.Background(), Request{APIKey: p.String()})
			if res.Outcome != tc.want {
				t.Fatalf("outcome %q, want %q (%v)", res.Outcome, tc.want, res.Err)
			}
			if person.calls != 0 {
				t.Fatal("a consumer key went to the person's minter")
			}
			if tc.want == OutcomeIssued && cm.client != client {
				t.Fatalf("minted with %+v", cm.client)
			}
		})
	}
	t.Run("not wired", func(t *testing.T) {
		e := NewExchanger(ExchangerConfig{Keys: mapFinder{p.LookupID: key}, Hasher: h, Minter: &fakeMinter{}})
		if res := e.Exchange(context.Background(), Request{APIKey: p.String()}); res.Outcome != OutcomeInactive {
			t.Fatalf("outcome %q", res.Outcome)
		}
	})
}

// saChecker says every subject is a service account: the person check would refuse all.
type saChecker struct{}

func (saChecker) IsServiceAccount(context.Context, string, string) (bool, error) { return true, nil }
