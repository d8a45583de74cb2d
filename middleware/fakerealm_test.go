package middleware

// A stand-in Keycloak realm (discovery document + JWKS on httptest) whose keys the tests
// hold, so they can sign exactly the token each case needs. keycloak_test.go uses the
// real Keycloak.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

type fakeRealm struct {
	srv    *httptest.Server
	issuer string

	mu              sync.Mutex
	signing         map[string]jwk.Key // kid → private key
	published       []jwk.Key          // public keys in the JWKS
	discoveryIssuer string             // what discovery claims; the real issuer by default

	jwksHits atomic.Int64
	down     atomic.Bool
	// keysHook, when set, sees each JWKS request first; returning true means it answered.
	keysHook atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func newFakeRealm(t *testing.T) *fakeRealm {
	t.Helper()
	f := &fakeRealm{signing: map[string]jwk.Key{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/test/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		f.mu.Lock()
		iss := f.discoveryIssuer
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": f.issuer + "/protocol/openid-connect/certs"})
	})
	mux.HandleFunc("GET /realms/test/protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		f.jwksHits.Add(1)
		if hook := f.keysHook.Load(); hook != nil && (*hook)(w, r) {
			return
		}
		set := jwk.NewSet()
		f.mu.Lock()
		for _, k := range f.published {
			set.AddKey(k)
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(set)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL + "/realms/test"
	f.discoveryIssuer = f.issuer
	f.addRSAKey(t, "rsa-1")
	return f
}

// onKeys installs a keysHook.
func (f *fakeRealm) onKeys(hook func(w http.ResponseWriter, r *http.Request) bool) {
	f.keysHook.Store(&hook)
}

// addKey publishes priv's public half under kid with the given use and algorithm.
func (f *fakeRealm) addKey(t *testing.T, kid string, priv any, alg jwa.SignatureAlgorithm, use string) {
	t.Helper()
	key, err := jwk.FromRaw(priv)
	if err != nil {
		t.Fatal(err)
	}
	key.Set(jwk.KeyIDKey, kid)
	key.Set(jwk.AlgorithmKey, alg)
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if use != "" {
		pub.Set(jwk.KeyUsageKey, use)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signing[kid] = key
	f.published = append(f.published, pub)
}

func (f *fakeRealm) addRSAKey(t *testing.T, kid string) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.addKey(t, kid, priv, jwa.RS256, "sig")
}

func (f *fakeRealm) addECKey(t *testing.T, kid string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.addKey(t, kid, priv, jwa.ES256, "sig")
}

// unpublish removes kid from the JWKS (the realm dropped the key).
func (f *fakeRealm) unpublish(kid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.published[:0]
	for _, k := range f.published {
		if k.KeyID() != kid {
			kept = append(kept, k)
		}
	}
	f.published = kept
}

func (f *fakeRealm) publicKey(t *testing.T, kid string) jwk.Key {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.published {
		if k.KeyID() == kid {
			return k
		}
	}
	t.Fatalf("no published key %q", kid)
	return nil
}

// claims are those of a Keycloak access token of alice, issued now by this realm.
func (f *fakeRealm) claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":                f.issuer,
		"sub":                "5b1f2b8e-alice",
		"aud":                []any{"demo-api", "account"},
		"azp":                "keyward",
		"typ":                "Bearer",
		"exp":                now.Add(5 * time.Minute).Unix(),
		"iat":                now.Unix(),
		"scope":              "openid email profile",
		"preferred_username": "alice",
		"acl_groups":         []any{"analytics", "engineering"},
		"realm_access":       map[string]any{"roles": []any{"offline_access", "default-roles-keyward"}},
		"resource_access":    map[string]any{"account": map[string]any{"roles": []any{"view-profile"}}},
	}
}

// sign signs claims with the realm's key kid, as Keycloak would.
func (f *fakeRealm) sign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	f.mu.Lock()
	key, ok := f.signing[kid]
	f.mu.Unlock()
	if !ok {
		t.Fatalf("no signing key %q", kid)
	}
	return signWith(t, key, claims)
}

// signWith signs claims with key, whose kid lands in the header.
func signWith(t *testing.T, key jwk.Key, claims map[string]any) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	alg, _ := key.Algorithm().(jwa.SignatureAlgorithm)
	out, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// handMade builds a compact JWS from a header and claims, signed by sign (nil: no
// signature), without any library checks: for tokens no honest signer would make.
func handMade(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(c)
	sig := ""
	if sign != nil {
		sig = b64(sign([]byte(input)))
	}
	return input + "." + sig
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// hs256With signs with HMAC-SHA-256 under secret: the algorithm-confusion attack when
// the secret is the realm's public key.
func hs256With(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

// headerOf decodes a compact token's protected header.
func headerOf(t *testing.T, token string) map[string]any {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatal(err)
	}
	m, err := msg.Signatures()[0].ProtectedHeaders().AsMap(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// payloadOf decodes a compact token's claims without verifying them.
func payloadOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withPayload keeps token's header and signature and swaps its claims: a tampered token.
func withPayload(t *testing.T, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + b64(c) + "." + parts[2]
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestVerifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newClockedVerifier returns a fake realm, a clock that stands still until the test
// advances it, and a verifier of the realm's issuer that reads that clock.
func newClockedVerifier(t *testing.T) (*fakeRealm, *clock, *Verifier) {
	t.Helper()
	realm := newFakeRealm(t)
	clk := &clock{t: time.Now()}
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	v.now = clk.now
	return realm, clk, v
}

// wantJWKSHits fails the test unless the realm has answered want JWKS requests; what,
// put after "times" (e.g. " for one cold start"), says when and why that many.
func wantJWKSHits(t *testing.T, realm *fakeRealm, want int64, what string) {
	t.Helper()
	if n := realm.jwksHits.Load(); n != want {
		t.Fatalf("JWKS fetched %d times%s, want %d", n, what, want)
	}
}

// tokenUntil signs, with kid, the realm's usual claims at now but expiring at exp.
func (f *fakeRealm) tokenUntil(t *testing.T, kid string, now, exp time.Time) string {
	t.Helper()
	claims := f.claims(now)
	claims["exp"] = exp.Unix()
	return f.sign(t, kid, claims)
}
