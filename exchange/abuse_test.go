package exchange

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// fixture builds one stored key and an exchanger around it with a settable clock.
type fixture struct {
	key    string
	row    models.Key
	store  mapFinder
	minter *fakeMinter
	clock  *testkit.Clock
	cache  *TokenCache
	usage  *Usage
}

func newFixture(t *testing.T, mut func(*models.Key)) *fixture {
	h := testHasher(t)
	p, _ := GenerateKey(EnvLive)
	f := &fixture{store: mapFinder{}, minter: &fakeMinter{}, clock: testkit.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))}
	f.row = models.Key{ID: p.LookupID, OwnerID: "u", LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Enabled: true, Environment: "production"}
	if mut != nil {
		mut(&f.row)
	}
	f.store[p.LookupID] = f.row
	f.key = p.String()
	return f
}

func (f *fixture) exchanger(t *testing.T, limiter Limiter, limits LimitPolicy) *Exchanger {
	return NewExchanger(ExchangerConfig{
		Keys: f.store, Hasher: testHasher(t), Minter: f.minter, Limiter: limiter, Limits: limits,
		Cache: f.cache, Usage: f.usage, Clock: f.clock.Now,
	})
}

func TestExchange_IPAllowlist(t *testing.T) {
	f := newFixture(t, func(k *models.Key) { k.IPAllowlist = "203.0.113.0/24 2001:db8::/32" })
	e := f.exchanger(t, nil, LimitPolicy{})
	for ip, want := range map[string]Outcome{
		"203.0.113.7":            OutcomeIssued,
		"::ffff:203.0.113.7":     OutcomeIssued, // IPv4-mapped IPv6 is the same client
		"2001:db8::1":            OutcomeIssued,
		"198.51.100.1":           OutcomeIPDenied,
		"2001:db9::1":            OutcomeIPDenied,
		"invalid (no address)":   OutcomeIPDenied,
		"203.0.114.1":            OutcomeIPDenied,
		"0.0.0.0":                OutcomeIPDenied,
		"::1":                    OutcomeIPDenied,
		"203.0.113.255":          OutcomeIssued,
		"2001:db8:ffff:ffff::ff": OutcomeIssued,
	} {
		addr, _ := netip.ParseAddr(ip)
		if got := e.Exchange(context.Background(), Request{APIKey: f.key, ClientIP: addr.Unmap()}).Outcome; got != want {
			t.Errorf("%s: %q, want %q", ip, got, want)
		}
	}
}

func TestExchange_RateLimit_ExactlyNThenRetryAfter(t *testing.T) {
	f := newFixture(t, func(k *models.Key) { k.RateLimitRequests, k.RateLimitWindowSeconds = 5, 60 })
	lim := ratelimit.NewMemory(f.clock.Now)
	e := f.exchanger(t, lim, LimitPolicy{Default: ratelimit.Limit{Requests: 1000, Window: time.Minute}})
	for i := 0; i < 5; i++ {
		if got := e.Exchange(context.Background(), Request{APIKey: f.key}); got.Outcome != OutcomeIssued {
			t.Fatalf("request %d: %q", i+1, got.Outcome)
		}
	}
	got := e.Exchange(context.Background(), Request{APIKey: f.key})
	if got.Outcome != OutcomeRateLimited || got.RetryAfter <= 0 || got.RetryAfter > 12*time.Second {
		t.Fatalf("6th request: %q retry after %v", got.Outcome, got.RetryAfter)
	}
	if f.minter.calls != 5 {
		t.Fatalf("Keycloak asked %d times, want 5", f.minter.calls)
	}
	f.clock.Advance(12 * time.Second) // one request's worth of refill
	if got := e.Exchange(context.Background(), Request{APIKey: f.key}); got.Outcome != OutcomeIssued {
		t.Fatalf("after refill: %q", got.Outcome)
	}
}

func TestExchange_DefaultAndUnlimitedLimits(t *testing.T) {
	policy := LimitPolicy{Default: ratelimit.Limit{Requests: 2, Window: time.Minute}}
	def := newFixture(t, nil)
	lim := ratelimit.NewMemory(def.clock.Now)
	e := def.exchanger(t, lim, policy)
	e.Exchange(context.Background(), Request{APIKey: def.key})
	e.Exchange(context.Background(), Request{APIKey: def.key})
	if got := e.Exchange(context.Background(), Request{APIKey: def.key}); got.Outcome != OutcomeRateLimited {
		t.Fatalf("default limit not applied: %q", got.Outcome)
	}
	unl := newFixture(t, func(k *models.Key) { k.RateLimitRequests = -1 })
	e = unl.exchanger(t, ratelimit.NewMemory(unl.clock.Now), policy)
	for i := 0; i < 10; i++ {
		if got := e.Exchange(context.Background(), Request{APIKey: unl.key}); got.Outcome != OutcomeIssued {
			t.Fatalf("unlimited key refused at %d: %q", i, got.Outcome)
		}
	}
}

type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("redis: connection refused")
}

func TestExchange_LimiterDown_UnavailableNotAllowed(t *testing.T) {
	f := newFixture(t, nil)
	e := f.exchanger(t, brokenLimiter{}, LimitPolicy{Default: ratelimit.Limit{Requests: 10, Window: time.Minute}})
	if got := e.Exchange(context.Background(), Request{APIKey: f.key}); got.Outcome != OutcomeUnavailable || f.minter.calls != 0 {
		t.Fatalf("outcome %q with %d Keycloak calls", got.Outcome, f.minter.calls)
	}
}

func TestExchange_TokenCache(t *testing.T) {
	f := newFixture(t, func(k *models.Key) { k.Scopes = "email profile" })
	f.cache = NewTokenCache(30*time.Second, 0)
	e := f.exchanger(t, nil, LimitPolicy{})
	first := e.Exchange(context.Background(), Request{APIKey: f.key})
	f.clock.Advance(100 * time.Second)
	second := e.Exchange(context.Background(), Request{APIKey: f.key})
	if !second.Cached || second.Token.AccessToken != first.Token.AccessToken || second.Token.ExpiresIn != 200 {
		t.Fatalf("second exchange: cached=%v expires_in=%d", second.Cached, second.Token.ExpiresIn)
	}
	if f.minter.calls != 1 {
		t.Fatalf("Keycloak asked %d times, want 1", f.minter.calls)
	}
	if other := e.Exchange(context.Background(), Request{APIKey: f.key, Scope: "email"}); other.Cached {
		t.Fatal("a narrower scope was served the token of the wider one")
	}
	f.clock.Advance(171 * time.Second) // 29 s left: inside the margin
	if late := e.Exchange(context.Background(), Request{APIKey: f.key}); late.Cached {
		t.Fatal("a token within the margin of its expiry was served")
	}
	calls := f.minter.calls
	f.cache.Drop(f.row.ID)
	if again := e.Exchange(context.Background(), Request{APIKey: f.key}); again.Cached || f.minter.calls != calls+1 {
		t.Fatal("Drop did not forget the key's tokens")
	}
	// Key state is checked before the cache: a disabled key gets nothing.
	row := f.store[f.row.LookupID]
	row.Enabled = false
	f.store[f.row.LookupID] = row
	if got := e.Exchange(context.Background(), Request{APIKey: f.key}); got.Outcome != OutcomeInactive {
		t.Fatalf("disabled key with a cached token: %q", got.Outcome)
	}
}

type usageSink struct{ batches []models.UsageBatch }

func (u *usageSink) RecordUsage(_ context.Context, b models.UsageBatch) error {
	u.batches = append(u.batches, b)
	return nil
}

func TestExchange_UsageCountedByOutcomeAndRoute(t *testing.T) {
	f := newFixture(t, func(k *models.Key) { k.IPAllowlist = "192.0.2.0/24" })
	sink := &usageSink{}
	f.usage = NewUsage(sink, nil, time.Hour)
	e := f.exchanger(t, nil, LimitPolicy{})
	ok := netip.MustParseAddr("192.0.2.10")
	bad := netip.MustParseAddr("198.51.100.10")
	e.Exchange(context.Background(), Request{APIKey: f.key, ClientIP: ok})
	e.Exchange(context.Background(), Request{APIKey: f.key, ClientIP: ok})
	e.Exchange(context.Background(), Request{APIKey: f.key, ClientIP: ok, Via: ViaForwardAuth})
	e.Exchange(context.Background(), Request{APIKey: f.key, ClientIP: bad, Via: ViaToken})
	e.Exchange(context.Background(), Request{APIKey: "garbage"})
	if len(sink.batches) != 0 {
		t.Fatal("usage written on the exchange path")
	}
	if err := f.usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := sink.batches[0]
	day := f.clock.Now().Format(time.DateOnly)
	// No Via is the token route, as before the field existed.
	if b.Counts[models.UsageKey{KeyID: f.row.ID, Day: day, Outcome: "issued", Via: "token"}] != 2 ||
		b.Counts[models.UsageKey{KeyID: f.row.ID, Day: day, Outcome: "issued", Via: "forward_auth"}] != 1 ||
		b.Counts[models.UsageKey{KeyID: f.row.ID, Day: day, Outcome: "ip_denied", Via: "token"}] != 1 || len(b.Counts) != 3 {
		t.Fatalf("counts %v", b.Counts)
	}
	if use := b.LastUsed[f.row.ID]; use.IP != "192.0.2.10" || !use.At.Equal(f.clock.Now()) {
		t.Fatalf("last use %+v", use)
	}
}
