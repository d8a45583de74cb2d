package exchange

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// failingFinder fails the test when the exchange touches the store.
type failingFinder struct{ t *testing.T }

func (f failingFinder) KeyForExchange(context.Context, string) (models.Key, error) {
	f.t.Fatal("the store was consulted for a key that fails its checksum")
	return models.Key{}, nil
}

type mapFinder map[string]models.Key

func (m mapFinder) KeyForExchange(_ context.Context, id string) (models.Key, error) {
	k, ok := m[id]
	if !ok {
		return models.Key{}, models.ErrNotFound
	}
	return k, nil
}

type fakeMinter struct {
	err    error
	scopes []string
	calls  int
	// Roles the issued token carries.
	realmRoles  []string
	clientRoles map[string][]string
}

func (f *fakeMinter) Prepare(context.Context, Owner) error { return nil }
func (f *fakeMinter) Mint(_ context.Context, owner, scope string) (keycloak.Token, error) {
	f.calls++
	f.scopes = append(f.scopes, scope)
	if f.err != nil {
		return keycloak.Token{}, f.err
	}
	return keycloak.Token{AccessToken: testkit.IssuedToken(owner, "user", f.realmRoles, f.clientRoles), ExpiresIn: 300, Scope: scope}, nil
}

func testHasher(t *testing.T) *Hasher {
	h, err := NewHasher([]byte(strings.Repeat("x", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestExchange_BadChecksum_RejectedWithoutStoreAccess(t *testing.T) {
	k, _ := GenerateKey(EnvLive)
	s := k.String()
	tampered := s[:len(s)-1] + string("01"[map[bool]int{true: 1}[s[len(s)-1] == '0']])
	m := &fakeMinter{}
	e := NewExchanger(ExchangerConfig{Keys: failingFinder{t}, Hasher: testHasher(t), Minter: m})
	for _, bad := range []string{tampered, "", "garbage", "kw_live_x_y"} {
		if res := e.Exchange(context.Background(), Request{APIKey: bad}); res.Outcome != OutcomeMalformed {
			t.Fatalf("outcome %q for a bad key", res.Outcome)
		}
	}
	if m.calls != 0 {
		t.Fatal("Keycloak was asked for a token")
	}
}

func TestExchange_Outcomes(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := testHasher(t)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	mk := func(mut func(*models.Key)) (string, models.Key) {
		p, _ := GenerateKey(EnvLive)
		k := models.Key{ID: p.LookupID, OwnerID: "user-1", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, ExpiresAt: &future, Environment: "production"}
		if mut != nil {
			mut(&k)
		}
		return p.String(), k
	}
	store := mapFinder{}
	add := func(mut func(*models.Key)) string {
		s, k := mk(mut)
		store[k.LookupID] = k
		return s
	}
	good := add(nil)
	expired := add(func(k *models.Key) { k.ExpiresAt = &past })
	expiresNow := add(func(k *models.Key) { k.ExpiresAt = &now })
	never := add(func(k *models.Key) { k.ExpiresAt = nil })
	disabled := add(func(k *models.Key) { k.Enabled = false })
	deleted := add(func(k *models.Key) { k.DeletedAt = &past })
	wrongSecret := func() string {
		s := add(nil)
		p, _ := ParseKey(s)
		other, _ := GenerateKey(EnvLive)
		p.Secret = other.Secret
		return p.String()
	}()
	// The checksum is public: anyone can turn a live key's text into a kw_test_ one.
	otherEnv := func(env string) string {
		p, _ := ParseKey(add(nil))
		p.Env = env
		return p.String()
	}
	unknown, _ := mk(nil)
	scoped := add(func(k *models.Key) { k.Scopes = "email profile" })

	cases := []struct {
		name    string
		key     string
		scope   string
		mintErr error
		want    Outcome
	}{
		{"valid key", good, "", nil, OutcomeIssued},
		{"never expires", never, "", nil, OutcomeIssued},
		{"expired", expired, "", nil, OutcomeExpired},
		{"expires exactly now", expiresNow, "", nil, OutcomeExpired},
		{"disabled", disabled, "", nil, OutcomeInactive},
		{"deleted", deleted, "", nil, OutcomeUnknownKey},
		{"wrong secret", wrongSecret, "", nil, OutcomeUnknownKey},
		{"unknown", unknown, "", nil, OutcomeUnknownKey},
		{"live key's id and secret as a test key", otherEnv(EnvTest), "", nil, OutcomeUnknownKey},
		{"keycloak refuses user", good, "", keycloak.ErrInvalidGrant, OutcomeUserRefused},
		{"keycloak down", good, "", keycloak.ErrUnavailable, OutcomeUnavailable},
		{"keycloak misconfigured", good, "", errors.New("invalid_client"), OutcomeError},
		{"scope narrowed", scoped, "email", nil, OutcomeIssued},
		{"scope widened", scoped, "email roles", nil, OutcomeInvalidScope},
		{"scope on unscoped key", good, "email", nil, OutcomeInvalidScope},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeMinter{err: tc.mintErr}
			e := NewExchanger(ExchangerConfig{Keys: store, Hasher: h, Minter: m, Clock: testkit.NewClock(now).Now})
			res := e.Exchange(context.Background(), Request{APIKey: tc.key, Scope: tc.scope})
			if res.Outcome != tc.want {
				t.Fatalf("outcome %q, want %q", res.Outcome, tc.want)
			}
			if tc.want == OutcomeIssued && res.Token.AccessToken != testkit.IssuedToken("user-1", "user", nil, nil) {
				t.Fatalf("token not from the minter for the owner: %q", res.Token.AccessToken)
			}
			mintAllowed := tc.want == OutcomeIssued || tc.mintErr != nil
			if !mintAllowed && m.calls > 0 {
				t.Fatalf("Keycloak asked for a token on outcome %q", res.Outcome)
			}
		})
	}
}

func TestExchange_ScopedKeyAsksForItsScopes(t *testing.T) {
	h := testHasher(t)
	p, _ := GenerateKey(EnvLive)
	store := mapFinder{p.LookupID: {ID: "k", OwnerID: "u", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, Environment: "production", Scopes: "email profile"}}
	m := &fakeMinter{}
	e := NewExchanger(ExchangerConfig{Keys: store, Hasher: h, Minter: m})
	e.Exchange(context.Background(), Request{APIKey: p.String()})
	e.Exchange(context.Background(), Request{APIKey: p.String(), Scope: "profile"})
	if strings.Join(m.scopes, "|") != "email profile|profile" {
		t.Fatalf("scopes asked: %q", m.scopes)
	}
}

func TestWithOpenID(t *testing.T) {
	for in, want := range map[string]string{"": "openid", "email": "openid email", "openid email": "openid email", "email openid": "email openid"} {
		if got := withOpenID(in); got != want {
			t.Errorf("withOpenID(%q) = %q, want %q", in, got, want)
		}
	}
}
