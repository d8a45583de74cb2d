package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/keycloak"
)

// jwksServer publishes the JWKS a test chooses and records when Keycloak fetches it.
type jwksServer struct {
	mu      sync.Mutex
	set     jwk.Set
	fetches []time.Time
	srv     *httptest.Server
}

func newJWKSServer(t *testing.T) *jwksServer {
	j := &jwksServer{set: jwk.NewSet()}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		j.mu.Lock()
		j.fetches = append(j.fetches, time.Now())
		body, _ := json.Marshal(j.set)
		j.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) publish(signers ...*exchange.Signer) {
	set := jwk.NewSet()
	for _, s := range signers {
		for i := 0; i < s.PublicKeys().Len(); i++ {
			k, _ := s.PublicKeys().Key(i)
			_ = set.AddKey(k)
		}
	}
	j.mu.Lock()
	j.set = set
	j.mu.Unlock()
}

func (j *jwksServer) fetchTimes() []time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]time.Time(nil), j.fetches...)
}

// How the real Keycloak treats an assertion signed by a key its cached JWKS lacks: it
// refetches, but not sooner than some interval after its last fetch. The interval
// measured here is what signing-key rotation must publish the next key ahead of
// (exchange.PublishAhead). It is logged, not asserted: Keycloak's behaviour, not ours.
func TestKeycloak_UnknownKid_RefetchedAfterAnInterval(t *testing.T) {
	kc := kctest.Require(t)
	jwks := newJWKSServer(t)
	issuer := jwks.srv.URL
	trust := kc.TempGrantTrust(t, issuer, jwks.srv.URL+"/jwks")
	client := keycloak.New(keycloak.Config{BaseURL: kc.URL, Realm: kc.Realm, ClientID: trust.ClientID,
		ClientSecret: trust.ClientSecret, AdminClientID: kc.AdminClientID, AdminClientSecret: kc.AdminClientSecret})
	userID, username := kc.TempUser(t, "refetch")
	ctx := context.Background()
	if err := client.EnsureFederatedLink(ctx, userID, username, trust.Alias, userID); err != nil {
		t.Fatal(err)
	}
	newSigner := func() *exchange.Signer {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		s, err := exchange.NewSigner(priv, issuer, kc.Issuer(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	grant := func(s *exchange.Signer) error {
		a, err := s.Assertion(userID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.JWTBearerGrant(ctx, a, "openid")
		return err
	}
	first, second := newSigner(), newSigner()
	jwks.publish(first)
	if err := grant(first); err != nil {
		t.Fatalf("grant with the published key: %v", err)
	}
	start := jwks.fetchTimes()
	if len(start) == 0 {
		t.Fatal("Keycloak never fetched the JWKS")
	}
	jwks.publish(first, second) // the new key is published, but Keycloak's copy is older
	refusals := 0
	deadline := time.Now().Add(2 * time.Minute)
	for grant(second) != nil {
		refusals++
		if time.Now().After(deadline) {
			t.Fatalf("a published key was still refused after 2 minutes (%d fetches)", len(jwks.fetchTimes()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	fetches := jwks.fetchTimes()
	t.Logf("Keycloak refused the unknown kid %d times; it refetched the JWKS %v after its previous fetch (%d fetches in all)",
		refusals, fetches[len(fetches)-1].Sub(start[len(start)-1]).Round(100*time.Millisecond), len(fetches))
}
