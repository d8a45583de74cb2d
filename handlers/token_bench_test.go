package handlers

// Benchmarks of POST /v1/token end to end through the gin engine: request ID, access
// log, body limit, the handler, the exchange pipeline, a real SQLite store, the
// in-memory rate limiter and the token cache. Keycloak is replaced at its interface.
// Not run by `make test`; run them with
//
//	go test -run '^$' -bench . -benchmem ./handlers/
//
// The fakes and the wiring are the benchmarks' own, so that they do not depend on the
// unit tests' harness.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/metrics"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// benchGrant stands for Keycloak's token endpoint: it answers at once, so that only
// Keyward's own work is measured.
// benchToken is what the fake token endpoint issues: the bench key's owner's.
var benchToken = testkit.IssuedToken("3f1e7c52-8a55-4f0e-9d39-1c2b3a4d5e6f", "alice", nil, nil)

type benchGrant struct{ calls atomic.Int64 }

func (g *benchGrant) EnsureFederatedLink(context.Context, string, string, string, string) error {
	return nil
}

func (g *benchGrant) JWTBearerGrant(_ context.Context, _, scope string) (keycloak.Token, error) {
	g.calls.Add(1)
	return keycloak.Token{AccessToken: benchToken, ExpiresIn: 300, Scope: scope}, nil
}

func benchSigningKey(b *testing.B) *ecdsa.PrivateKey {
	b.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

type benchPinger struct{}

func (benchPinger) Ping(context.Context) error { return nil }

type benchSetup struct {
	cache      bool // KEYWARD_TOKEN_CACHE
	production bool // JSON access log at info level and Prometheus metrics, as main wires them
}

// newBenchEngine wires the engine as cmd/keyward does, on a SQLite file, and stores one
// key with a limit that never binds. It returns the engine, the key and the fake
// Keycloak.
func newBenchEngine(b *testing.B, setup benchSetup) (*gin.Engine, string, *benchGrant) {
	b.Helper()
	gin.SetMode(gin.ReleaseMode)
	ctx := context.Background()
	store := openStore(b)
	hasher, err := exchange.NewHasher([]byte(strings.Repeat("p", 32)))
	if err != nil {
		b.Fatal(err)
	}
	parsed, err := exchange.GenerateKey(exchange.EnvLive)
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour)
	if err := store.CreateKey(ctx, &models.Key{
		OwnerID: "3f1e7c52-8a55-4f0e-9d39-1c2b3a4d5e6f", OwnerUsername: "alice", Name: "bench",
		LookupID: parsed.LookupID, SecretHash: hasher.Hash(parsed.Secret), Environment: "production",
		Enabled: true, ExpiresAt: &exp, RateLimitRequests: 1_000_000, RateLimitWindowSeconds: 1,
	}); err != nil {
		b.Fatal(err)
	}
	signer, err := exchange.NewSigner(benchSigningKey(b), "http://127.0.0.1:8080", "http://127.0.0.1:8180/realms/keyward", nil)
	if err != nil {
		b.Fatal(err)
	}
	grant := &benchGrant{}
	var cache *exchange.TokenCache
	if setup.cache {
		cache = exchange.NewTokenCache(30*time.Second, 0)
	}
	log := zap.NewNop()
	var m *metrics.Metrics
	if setup.production {
		// main's production logger, writing to io.Discard: the encoding is paid,
		// the disk is not.
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		log = zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
		m = metrics.New()
	}
	// The key state in memory, as main wires it: SQLite announces key writes in process.
	keyState := exchange.NewKeyState(store, 0, 0, nil)
	watch, stopWatch := context.WithCancel(ctx)
	b.Cleanup(stopWatch)
	store.WatchKeys(watch, keyState)
	cfg := exchange.ExchangerConfig{
		Keys: keyState, Hasher: hasher, Minter: exchange.NewJWTGrantMinter(signer, grant, "keyward"),
		Usage:   exchange.NewUsage(store, zap.NewNop(), time.Hour), // not flushed while timed
		Limiter: ratelimit.NewMemory(nil),
		Limits:  exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 600, Window: time.Minute}},
		Cache:   cache,
	}
	hc := Config{
		Log: log, JWKS: signer.PublicKeys(), KeyTokenClients: []string{"keyward", "keyward-limited"},
		Database: benchPinger{}, Keycloak: benchPinger{},
	}
	if m != nil { // a nil *Metrics in an interface is not a nil interface
		cfg.Observe = m
		hc.HTTPMetrics = m
	}
	hc.Exchanger = exchange.NewExchanger(cfg)
	return New(hc), parsed.String(), grant
}

// benchWriter is a ResponseWriter that keeps nothing between requests but its header
// map (cleared, not reallocated), so that the allocations counted are the server's,
// not a recorder's.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// benchRequest is the request every iteration sends: X-API-Key, no body, as the load
// generator does. serve resets what the server changes on it. Its context can be
// cancelled, as net/http's server contexts can: the SQLite driver then watches it with
// a goroutine per query, a cost a background context would hide.
func benchRequest(b *testing.B, key string) *http.Request {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/token", nil)
	req.Header.Set("X-API-Key", key)
	return req
}

// serve runs one request through the engine, reusing req and w: the handler's parsed
// form and wrapped body are undone, so that each iteration does the full work.
func serve(e *gin.Engine, req *http.Request, w *benchWriter) {
	req.Body, req.Form, req.PostForm = http.NoBody, nil, nil
	w.reset()
	e.ServeHTTP(w, req)
}

func benchTokenSerial(b *testing.B, setup benchSetup, wantMints int64) {
	e, key, grant := newBenchEngine(b, setup)
	req, w := benchRequest(b, key), &benchWriter{h: http.Header{}}
	serve(e, req, w) // the first exchange fills the cache when it is on
	if w.status != http.StatusOK {
		b.Fatalf("priming request: %d", w.status)
	}
	start := grant.calls.Load()
	b.ReportAllocs()
	for b.Loop() {
		serve(e, req, w)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	if got := grant.calls.Load() - start; wantMints >= 0 && got != wantMints {
		b.Fatalf("Keycloak was asked %d times while timed, want %d", got, wantMints)
	}
}

// A cache hit: no call to Keycloak; the key comes from the in-memory key state and is
// checked.
func BenchmarkToken_CacheHit(b *testing.B) {
	b.Run("nop-log", func(b *testing.B) { benchTokenSerial(b, benchSetup{cache: true}, 0) })
	b.Run("production", func(b *testing.B) { benchTokenSerial(b, benchSetup{cache: true, production: true}, 0) })
}

// The same from as many goroutines as cores, as the load generator's concurrency
// makes it: shows contention on SQLite, the limiter and the cache.
func BenchmarkToken_CacheHit_Parallel(b *testing.B) {
	e, key, grant := newBenchEngine(b, benchSetup{cache: true, production: true})
	prime := &benchWriter{h: http.Header{}}
	serve(e, benchRequest(b, key), prime)
	if prime.status != http.StatusOK {
		b.Fatalf("priming request: %d", prime.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, w := benchRequest(b, key), &benchWriter{h: http.Header{}}
		for pb.Next() {
			serve(e, req, w)
			if w.status != http.StatusOK {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
	b.StopTimer()
	if n := grant.calls.Load(); n != 1 {
		b.Fatalf("Keycloak was asked %d times, want 1 (the priming request)", n)
	}
}

// Cache off: everything Keyward does for an exchange except waiting for Keycloak,
// i.e. the look-up, checks and the ES256 assertion signature.
func BenchmarkToken_CacheOff_KeycloakFaked(b *testing.B) {
	b.Run("production", func(b *testing.B) { benchTokenSerial(b, benchSetup{production: true}, -1) })
}

// The door's cache hit: what a gateway waits for on every request of a key it has
// seen (issue 21's target: ≤ 5 µs and ≤ 20 allocations, reported, not asserted).
func BenchmarkForwardAuth_CacheHit(b *testing.B) {
	for _, setup := range []struct {
		name  string
		setup benchSetup
	}{{"nop-log", benchSetup{cache: true}}, {"production", benchSetup{cache: true, production: true}}} {
		b.Run(setup.name, func(b *testing.B) {
			e, key, grant := newBenchEngine(b, setup.setup)
			ctx, cancel := context.WithCancel(context.Background())
			b.Cleanup(cancel)
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/forward-auth/api/report.csv", nil)
			req.Header.Set("X-API-Key", key)
			w := &benchWriter{h: http.Header{}}
			serve(e, req, w)
			if w.status != http.StatusOK || w.h.Get("Authorization") != "Bearer "+benchToken {
				b.Fatalf("priming request: %d", w.status)
			}
			start := grant.calls.Load()
			b.ReportAllocs()
			for b.Loop() {
				serve(e, req, w)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			if got := grant.calls.Load() - start; got != 0 {
				b.Fatalf("Keycloak was asked %d times while timed, want 0", got)
			}
		})
	}
}
