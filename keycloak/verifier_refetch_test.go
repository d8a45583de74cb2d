package keycloak

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// rotatingRealm serves a JWKS that gains a second key when told, slowly.
type rotatingRealm struct {
	srv     *httptest.Server
	keys    []jwk.Key // private
	rotated atomic.Bool
	delay   time.Duration
}

func newRotatingRealm(t *testing.T) *rotatingRealm {
	t.Helper()
	r := &rotatingRealm{delay: 300 * time.Millisecond}
	for _, kid := range []string{"old", "new"} {
		raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := jwk.FromRaw(raw)
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
		r.keys = append(r.keys, k)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		set := jwk.NewSet()
		n := 1
		if r.rotated.Load() {
			time.Sleep(r.delay)
			n = 2
		}
		for _, k := range r.keys[:n] {
			pub, _ := k.PublicKey()
			_ = set.AddKey(pub)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rotatingRealm) token(t *testing.T, key int) string {
	t.Helper()
	tok, _ := jwt.NewBuilder().Issuer("https://realm").Subject("u").Expiration(time.Now().Add(time.Minute)).
		Claim("typ", "Bearer").Build()
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, r.keys[key]))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// A request that gives up while the verifier refetches the realm's keys (they rotated)
// must not spend the refetch on nothing: the next request finds the new key.
func TestVerifier_RefetchOutlivesTheRequestThatCausedIt(t *testing.T) {
	realm := newRotatingRealm(t)
	v, err := NewVerifier(context.Background(), VerifierConfig{Issuer: "https://realm", CertsURL: realm.srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), realm.token(t, 0)); err != nil {
		t.Fatalf("the first key: %v", err)
	}
	realm.rotated.Store(true)
	impatient, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = v.Verify(impatient, realm.token(t, 1)) // whatever it answers, it asked for the keys
	if _, err := v.Verify(context.Background(), realm.token(t, 1)); err != nil {
		t.Fatalf("the rotated key after an impatient request: %v", err)
	}
}
