package exchange

// Benchmarks of the exchange hot path without I/O: the key format, the hash, the
// assertion signature, the token cache and the whole pipeline on a cache hit with the
// store in memory. Not run by `make test`; run them with
//
//	go test -run '^$' -bench . -benchmem ./exchange/
//
// The fakes here are the benchmarks' own (bench* names), so that they do not depend
// on the unit tests' fakes.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

type benchFinder map[string]models.Key

func (f benchFinder) KeyByLookupID(_ context.Context, id string) (models.Key, error) {
	k, ok := f[id]
	if !ok {
		return models.Key{}, models.ErrNotFound
	}
	return k, nil
}

// KeyForExchange is the same look-up under the name the recommended KeyFinder has
// (see BENCH-section.md), so that these benchmarks build before and after that change.
func (f benchFinder) KeyForExchange(ctx context.Context, id string) (models.Key, error) {
	return f.KeyByLookupID(ctx, id)
}

// benchMinter answers at once: on a cache hit it must never be called.
type benchMinter struct {
	mu    sync.Mutex
	calls int
}

func (m *benchMinter) Prepare(context.Context, Owner) error { return nil }
func (m *benchMinter) Mint(_ context.Context, owner, scope string) (keycloak.Token, error) {
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	return keycloak.Token{AccessToken: testkit.IssuedToken(owner, "bench", nil, nil), ExpiresIn: 300, Scope: scope}, nil
}

func benchHasher(b *testing.B) *Hasher {
	b.Helper()
	h, err := NewHasher([]byte(strings.Repeat("p", 32)))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func benchKey(b *testing.B) ParsedKey {
	b.Helper()
	k, err := GenerateKey(EnvLive)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func BenchmarkParseKey(b *testing.B) {
	key := benchKey(b).String()
	b.ReportAllocs()
	for b.Loop() { // b.Loop resets the timer on its first call: setup above is excluded
		if _, err := ParseKey(key); err != nil {
			b.Fatal(err)
		}
	}
}

// A typo is refused by the checksum alone: this is all a garbage key costs.
func BenchmarkParseKey_BadChecksum(b *testing.B) {
	key := benchKey(b).String()
	last := key[len(key)-1]
	typo := key[:len(key)-1] + string(map[bool]byte{true: '1', false: '0'}[last == '0'])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseKey(typo); err == nil {
			b.Fatal("typo accepted")
		}
	}
}

func BenchmarkChecksum(b *testing.B) {
	k := benchKey(b)
	body := k.Prefix() + k.Secret
	b.ReportAllocs()
	for b.Loop() {
		checksum(body)
	}
}

// Hash plus constant-time compare: what every exchange of a well-formed key pays
// after the look-up.
func BenchmarkHasher_Matches(b *testing.B) {
	h := benchHasher(b)
	k := benchKey(b)
	stored := h.Hash(k.Secret)
	b.ReportAllocs()
	for b.Loop() {
		if !h.Matches(k.Secret, stored) {
			b.Fatal("no match")
		}
	}
}

// One ES256 assertion with a fresh jti: what every cache miss pays before Keycloak.
func BenchmarkSigner_Assertion(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSigner(priv, "http://127.0.0.1:8080", "http://127.0.0.1:8180/realms/keyward", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Assertion("5d6a7e1c-0000-4000-8000-000000000001"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenCache_Get(b *testing.B) {
	c := NewTokenCache(30*time.Second, 0)
	now := time.Now()
	c.Put("key-id", "owner-id", "openid", keycloak.Token{AccessToken: "t", ExpiresIn: 300}, now)
	b.ReportAllocs()
	for b.Loop() {
		if _, hit := c.Get("key-id", "openid", now); !hit {
			b.Fatal("miss")
		}
	}
}

// benchExchanger is the production pipeline (hasher, in-memory limiter, usage
// recorder, token cache) with the store and Keycloak replaced by in-memory fakes, and
// one key whose token is already cached.
func benchExchanger(b *testing.B) (*Exchanger, Request, *benchMinter) {
	b.Helper()
	h := benchHasher(b)
	k := benchKey(b)
	row := models.Key{
		ID: "7f0c2a8e-2d3b-4b8e-9a57-0d2f3c4b5a61", OwnerID: "owner", LookupID: k.LookupID,
		SecretHash: h.Hash(k.Secret), Enabled: true, Environment: "production",
		// The bench key's limit must never bind, as in the load test.
		RateLimitRequests: 1_000_000_000, RateLimitWindowSeconds: 1,
	}
	m := &benchMinter{}
	e := NewExchanger(ExchangerConfig{
		Keys: benchFinder{k.LookupID: row}, Hasher: h, Minter: m,
		Usage:   NewUsage(nil, nil, time.Hour), // never flushed during the benchmark
		Limiter: ratelimit.NewMemory(nil),
		Limits:  LimitPolicy{Default: ratelimit.Limit{Requests: 600, Window: time.Minute}},
		Cache:   NewTokenCache(30*time.Second, 0),
	})
	req := Request{APIKey: k.String(), ClientIP: netip.MustParseAddr("127.0.0.1")}
	if res := e.Exchange(context.Background(), req); res.Outcome != OutcomeIssued || res.Cached {
		b.Fatalf("priming exchange: %+v", res)
	}
	return e, req, m
}

// The domain core of a cache hit, without HTTP and without the database: parse,
// look-up (a map), hash, state, limiter, cache, usage.
func BenchmarkExchange_CacheHit_StoreInMemory(b *testing.B) {
	e, req, m := benchExchanger(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := e.Exchange(ctx, req); !res.Cached {
			b.Fatalf("not a cache hit: %+v", res)
		}
	}
	if m.calls != 1 {
		b.Fatalf("Keycloak minted %d times, want 1 (the priming exchange)", m.calls)
	}
}

// The same from many goroutines: one hot key contends on the limiter's, the cache's
// and the usage recorder's locks.
func BenchmarkExchange_CacheHit_StoreInMemory_Parallel(b *testing.B) {
	e, req, _ := benchExchanger(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := e.Exchange(ctx, req); !res.Cached {
				b.Errorf("not a cache hit: %+v", res)
				return
			}
		}
	})
}
