package exchange

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

func mustDeny(t *testing.T, entries ...string) RoleDenylist {
	t.Helper()
	d, err := NewRoleDenylist(entries)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRoleDenylist_Match(t *testing.T) {
	d := mustDeny(t, "realm-admin", "keyward-admin", "urn:billing:api:refund", "broker:*")
	cases := []struct {
		name  string
		roles keycloak.Roles
		want  string // "" = allowed
	}{
		{"ordinary user", keycloak.Roles{Realm: []string{"default-roles-keyward", "offline_access"}}, ""},
		{"keyward admin", keycloak.Roles{Realm: []string{"offline_access", "keyward-admin"}}, "keyward-admin"},
		{"realm role named realm-admin", keycloak.Roles{Realm: []string{"realm-admin"}}, "realm-admin"},
		{"any realm-management role, always", keycloak.Roles{Clients: map[string][]string{"realm-management": {"view-users"}}}, "realm-management:view-users"},
		{"realm-management even when unlisted", keycloak.Roles{Clients: map[string][]string{"realm-management": {"query-groups"}}}, "realm-management:query-groups"},
		{"client role of another client", keycloak.Roles{Clients: map[string][]string{"demo-api": {"reader"}}}, ""},
		{"a listed client role, client id with colons", keycloak.Roles{Clients: map[string][]string{"urn:billing:api": {"refund"}}}, "urn:billing:api:refund"},
		{"an unlisted role of that client", keycloak.Roles{Clients: map[string][]string{"urn:billing:api": {"read"}}}, ""},
		{"every role of a starred client", keycloak.Roles{Clients: map[string][]string{"broker": {"read-token"}}}, "broker:read-token"},
		{"role of the same name on another client", keycloak.Roles{Clients: map[string][]string{"demo-api": {"keyward-admin"}}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, denied := d.Match(tc.roles)
			if got != tc.want || denied != (tc.want != "") {
				t.Fatalf("Match = %q, %v; want %q", got, denied, tc.want)
			}
		})
	}
}

func TestRoleDenylist_RefusesEmptyParts(t *testing.T) {
	for _, bad := range []string{":role", "client:"} {
		if _, err := NewRoleDenylist([]string{bad}); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if got := mustDeny(t).Clients(); len(got) != 1 || got[0] != RealmManagementClient {
		t.Fatalf("an empty list still names realm-management: %v", got)
	}
}

// fakePrincipals says which subjects are service accounts.
type fakePrincipals struct {
	sa  map[string]bool
	err error
}

func (f fakePrincipals) IsServiceAccount(_ context.Context, id, _ string) (bool, error) {
	return f.sa[id], f.err
}

func TestExchange_IssuedTokenChecked_FailClosed(t *testing.T) {
	h := testHasher(t)
	p, _ := GenerateKey(EnvLive)
	store := mapFinder{p.LookupID: {ID: "k1", OwnerID: "user-1", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, Environment: "production"}}
	deny := mustDeny(t, "keyward-admin")
	cases := []struct {
		name        string
		realmRoles  []string
		clientRoles map[string][]string
		principals  PrincipalChecker
		want        Outcome
	}{
		{"plain user", []string{"offline_access"}, nil, nil, OutcomeIssued},
		{"realm-management role in the token", nil, map[string][]string{"realm-management": {"manage-users"}}, nil, OutcomeDeniedRole},
		{"denylisted realm role", []string{"keyward-admin"}, nil, nil, OutcomeDeniedRole},
		{"owner is a service account", nil, nil, fakePrincipals{sa: map[string]bool{"user-1": true}}, OutcomeNotPerson},
		{"cannot tell whether the owner is a person", nil, nil, fakePrincipals{err: keycloak.ErrUnavailable}, OutcomeUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := NewTokenCache(time.Second, 0)
			m := &fakeMinter{realmRoles: tc.realmRoles, clientRoles: tc.clientRoles}
			e := NewExchanger(ExchangerConfig{Keys: store, Hasher: h, Minter: m, Deny: deny, Principals: tc.principals, Cache: cache})
			res := e.Exchange(context.Background(), Request{APIKey: p.String()})
			if res.Outcome != tc.want {
				t.Fatalf("outcome %q, want %q (%v)", res.Outcome, tc.want, res.Err)
			}
			if tc.want != OutcomeIssued && res.Token.AccessToken != "" {
				t.Fatal("a withheld token was returned")
			}
			// A withheld token is not cached: the next exchange asks Keycloak again.
			e.Exchange(context.Background(), Request{APIKey: p.String()})
			if tc.want != OutcomeIssued && m.calls != 2 {
				t.Fatalf("Keycloak asked %d times; a refused token must not be served from the cache", m.calls)
			}
		})
	}
}

type subjectMinter struct{ fakeMinter }

func (m *subjectMinter) Mint(ctx context.Context, _, scope string) (keycloak.Token, error) {
	return m.fakeMinter.Mint(ctx, "someone-else", scope)
}

func TestExchange_TokenForAnotherSubject_Withheld(t *testing.T) {
	h := testHasher(t)
	p, _ := GenerateKey(EnvLive)
	store := mapFinder{p.LookupID: {ID: "k1", OwnerID: "user-1", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, Environment: "production"}}
	e := NewExchanger(ExchangerConfig{Keys: store, Hasher: h, Minter: &subjectMinter{}})
	if res := e.Exchange(context.Background(), Request{APIKey: p.String()}); res.Outcome != OutcomeError || res.Token.AccessToken != "" {
		t.Fatalf("outcome %q with a token for another user", res.Outcome)
	}
}

func TestNormalizeScope(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{"", "", false},
		{"profile email", "email profile", false},
		{"email  email\tprofile email", "email profile", false},
		{"a:b/c-d_e.f", "a:b/c-d_e.f", false},
		{strings.Repeat("s ", api.ScopesMax), "s", false},
		{strings.Repeat("x", 65), "", true},
		{"email <script>", "", true},
		{"é", "", true},
		{strings.Repeat("a ", api.ScopesMax+1), "", true}, // counted before repeats go
		{strings.Repeat("a", MaxScopeParamLen+1), "", true},
	}
	for _, tc := range cases {
		got, err := NormalizeScope(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("NormalizeScope(%.40q) = %q, %v; want %q, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestNarrowScope_OrderAndRepeatsDoNotMatter(t *testing.T) {
	for _, req := range []string{"profile email", "email profile", "email profile email"} {
		n, _ := NormalizeScope(req)
		got, ok := narrowScope("profile email roles", n)
		if !ok || got != "email profile" {
			t.Fatalf("%q → %q, %v", req, got, ok)
		}
	}
	if got, _ := narrowScope("roles email email", ""); got != "email roles" {
		t.Fatalf("the key's own scopes are normalised too: %q", got)
	}
}

func TestExchange_SameScopeAnyOrder_OneCacheEntry(t *testing.T) {
	h := testHasher(t)
	p, _ := GenerateKey(EnvLive)
	store := mapFinder{p.LookupID: {ID: "k1", OwnerID: "user-1", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, Environment: "production", Scopes: "email profile"}}
	m := &fakeMinter{}
	e := NewExchanger(ExchangerConfig{Keys: store, Hasher: h, Minter: m, Cache: NewTokenCache(time.Second, 0)})
	for _, scope := range []string{"email profile", "profile email", "profile  email email"} {
		if res := e.Exchange(context.Background(), Request{APIKey: p.String(), Scope: scope}); res.Outcome != OutcomeIssued {
			t.Fatalf("%q: %s", scope, res.Outcome)
		}
	}
	if m.calls != 1 {
		t.Fatalf("Keycloak asked %d times for one scope written three ways", m.calls)
	}
}

func TestFailureThrottle_BudgetPerAddress(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	clock := clk.Now
	th := NewFailureThrottle(3, time.Minute, clock)
	a, b := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.8")
	for i := 0; i < 3; i++ {
		if _, blocked := th.Blocked(a); blocked {
			t.Fatalf("blocked after %d failures of a budget of 3", i)
		}
		th.Fail(a)
	}
	wait, blocked := th.Blocked(a)
	if !blocked || wait <= 0 || wait > 20*time.Second {
		t.Fatalf("after 3 failures: blocked=%v wait=%v (one failure refills every 20 s)", blocked, wait)
	}
	if _, blocked := th.Blocked(b); blocked {
		t.Fatal("another address pays for the first one's failures")
	}
	clk.Advance(20 * time.Second)
	if _, blocked := th.Blocked(a); blocked {
		t.Fatal("still blocked once a failure's worth refilled")
	}
	// IPv6: one host holds a /64; rotating within it buys nothing.
	v6 := NewFailureThrottle(1, time.Minute, clock)
	v6.Fail(netip.MustParseAddr("2001:db8::1"))
	if _, blocked := v6.Blocked(netip.MustParseAddr("2001:db8::ffff:1")); !blocked {
		t.Fatal("another address of the same /64 escaped the budget")
	}
	if _, blocked := v6.Blocked(netip.MustParseAddr("2001:db8:0:1::1")); blocked {
		t.Fatal("another /64 was blocked")
	}
	var off *FailureThrottle = NewFailureThrottle(0, time.Minute, clock)
	off.Fail(a)
	if _, blocked := off.Blocked(a); blocked {
		t.Fatal("a zero budget disables the throttle")
	}
}

// countingFinder counts store look-ups.
type countingFinder struct {
	mapFinder
	lookups int
}

func (c *countingFinder) KeyForExchange(ctx context.Context, id string) (models.Key, error) {
	c.lookups++
	return c.mapFinder.KeyForExchange(ctx, id)
}

func TestExchange_ForgedKeys_ThrottledBeforeTheStore_ValidKeysUnaffected(t *testing.T) {
	h := testHasher(t)
	good, _ := GenerateKey(EnvLive)
	store := &countingFinder{mapFinder: mapFinder{good.LookupID: {ID: "k1", OwnerID: "user-1", LookupID: good.LookupID, SecretHash: h.Hash(good.Secret), Enabled: true, Environment: "production"}}}
	e := NewExchanger(ExchangerConfig{Keys: store, Hasher: h, Minter: &fakeMinter{},
		Failures: NewFailureThrottle(5, time.Minute, nil)})
	attacker, user := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("192.0.2.10")

	// Successes spend nothing: many of them, then the whole failure budget is there.
	for i := 0; i < 50; i++ {
		if res := e.Exchange(context.Background(), Request{APIKey: good.String(), ClientIP: attacker}); res.Outcome != OutcomeIssued {
			t.Fatalf("valid key: %s", res.Outcome)
		}
	}
	before := store.lookups
	for i := 0; i < 100; i++ {
		forged, _ := GenerateKey(EnvLive) // well formed, checksum right: reaches the store
		res := e.Exchange(context.Background(), Request{APIKey: forged.String(), ClientIP: attacker})
		switch {
		case i < 5 && res.Outcome != OutcomeUnknownKey:
			t.Fatalf("forged key %d: %s", i, res.Outcome)
		case i >= 5 && (res.Outcome != OutcomeThrottled || res.RetryAfter <= 0):
			t.Fatalf("forged key %d past the budget: %s, retry after %v", i, res.Outcome, res.RetryAfter)
		}
	}
	if n := store.lookups - before; n != 5 {
		t.Fatalf("100 forged keys cost %d store look-ups, want the budget of 5", n)
	}
	if res := e.Exchange(context.Background(), Request{APIKey: good.String(), ClientIP: user}); res.Outcome != OutcomeIssued {
		t.Fatalf("a valid key from another address: %s", res.Outcome)
	}
	if res := e.Exchange(context.Background(), Request{APIKey: good.String(), ClientIP: attacker}); res.Outcome != OutcomeThrottled {
		t.Fatalf("the throttled address is throttled for every key until its budget refills: %s", res.Outcome)
	}
}

// The throttle groups addresses as every per-address limit does (ratelimit.AddressPrefix):
// an IPv6 /64 is one budget, another /64 its own; an IPv4-mapped address is its IPv4
// address; an address the HTTP layer could not parse (the zero Addr) shares one budget
// rather than escaping the throttle.
func TestFailureThrottle_OneBudgetPerAddressGroup(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	for _, c := range []struct {
		name               string
		spend, same, other string // "": the zero Addr
	}{
		{name: "same /64", spend: "2001:db8:1:2::1", same: "2001:db8:1:2:aaaa:bbbb:cccc:dddd", other: "2001:db8:1:3::1"},
		{name: "zone dropped", spend: "fe80::1%eth0", same: "fe80::2%eth1", other: "fe80:0:0:1::1"},
		{name: "IPv4-mapped is IPv4", spend: "::ffff:198.51.100.7", same: "198.51.100.7", other: "198.51.100.8"},
		{name: "IPv4 is IPv4-mapped", spend: "198.51.100.7", same: "::ffff:198.51.100.7", other: "::ffff:198.51.100.8"},
		{name: "invalid shares one budget", other: "198.51.100.8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			th := NewFailureThrottle(2, time.Minute, clk.Now)
			addr := func(s string) netip.Addr {
				if s == "" {
					return netip.Addr{}
				}
				return netip.MustParseAddr(s)
			}
			spend, same := addr(c.spend), addr(c.same)
			th.Fail(spend)
			if _, blocked := th.Blocked(same); blocked {
				t.Fatal("blocked after 1 failure of a budget of 2")
			}
			th.Fail(same) // the second failure, from the other member of the group
			if _, blocked := th.Blocked(spend); !blocked {
				t.Fatalf("%v and %v do not share one budget", spend, same)
			}
			if _, blocked := th.Blocked(same); !blocked {
				t.Fatalf("%v escaped the budget its group spent", same)
			}
			if _, blocked := th.Blocked(addr(c.other)); blocked {
				t.Fatalf("%s pays for another group's failures", c.other)
			}
		})
	}
}
