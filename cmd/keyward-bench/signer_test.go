package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/sealbox"
	"github.com/keyward/keyward/models"
)

const (
	benchIssuer   = "http://127.0.0.1:8080"
	benchAudience = "http://127.0.0.1:8180/realms/keyward"
)

// devStore makes a data directory as `make up` leaves it: an embedded store whose
// signing key Keyward generated itself, and the encryption key file. It returns the
// store's ring (what Keyward publishes) and the directory.
func devStore(t *testing.T) (*exchange.KeyRing, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keyward-data")
	key, err := sealbox.LoadOrCreateKeyFile(filepath.Join(dir, "encryption-key"), true)
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.Open(context.Background(), "sqlite://"+filepath.Join(dir, "keyward.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ring := exchange.NewKeyRing(store, box, 720*time.Hour, nil, nil)
	if err := ring.Init(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return ring, dir
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The finding of issue 21: a key file beside a store that made its own key (`make up`
// first) was signed with, and Keycloak answered invalid_grant. The signer must sign
// with the store's key, which the store's Keyward publishes.
func TestStoreSigner_SignsWithTheStoresKey_NotAKeyFileBesideIt(t *testing.T) {
	ring, dir := devStore(t)
	stale, err := exchange.LoadOrCreateSigningKey(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s, stop, err := storeSigner(context.Background(), envOf(map[string]string{"KEYWARD_DATA_DIR": dir}), benchIssuer, benchAudience)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	assertion, err := s.Assertion("alice-id")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(assertion), jwt.WithKeySet(ring.PublicKeys()), jwt.WithValidate(true),
		jwt.WithIssuer(benchIssuer), jwt.WithAudience(benchAudience))
	if err != nil {
		t.Fatalf("the assertion does not verify against the store's published keys: %v", err)
	}
	if tok.Subject() != "alice-id" {
		t.Errorf("sub = %q", tok.Subject())
	}
	if _, err := jwt.Parse([]byte(assertion), jwt.WithKey(jwa.ES256, stale.Public())); err == nil {
		t.Error("the assertion verifies with the stale key file: the signer read the file, not the store")
	}
}

// The signer only reads: pointed at a directory with no store it says so and leaves
// the directory as it was (an empty store made there would have no key Keycloak trusts).
func TestStoreSigner_NoStore_RefusedAndNothingCreated(t *testing.T) {
	dir := t.TempDir()
	_, _, err := storeSigner(context.Background(), envOf(map[string]string{"KEYWARD_DATA_DIR": dir}), benchIssuer, benchAudience)
	if err == nil || !strings.Contains(err.Error(), "KEYWARD_DATA_DIR") {
		t.Fatalf("err = %v, want one naming KEYWARD_DATA_DIR", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the signer wrote into the data directory: %v", entries)
	}
}

// Another encryption key than the store's cannot open its signing keys: refused, not
// a signer with some other key.
func TestStoreSigner_OtherEncryptionKey_Refused(t *testing.T) {
	_, dir := devStore(t)
	other := make([]byte, sealbox.KeySize)
	_, _ = rand.Read(other)
	_, _, err := storeSigner(context.Background(), envOf(map[string]string{
		"KEYWARD_DATA_DIR": dir, "KEYWARD_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(other),
	}), benchIssuer, benchAudience)
	if err == nil || !strings.Contains(err.Error(), "signing keys") {
		t.Fatalf("err = %v, want the store's signing keys refused", err)
	}
}

// jwksServer publishes ring's keys as Keyward's /.well-known/jwks.json does.
func jwksServer(t *testing.T, ring *exchange.KeyRing) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(ring.PublicKeys())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The Keyward Keycloak fetches keys from must run on the store the bench reads, or the
// bench stops before the load with the reason rather than a row of invalid_grant.
func TestCheckPublished_TheKeywardOnAnotherStore_Refused(t *testing.T) {
	ring, dir := devStore(t)
	otherRing, _ := devStore(t)
	s, stop, err := storeSigner(context.Background(), envOf(map[string]string{"KEYWARD_DATA_DIR": dir}), benchIssuer, benchAudience)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	if err := checkPublished(ctx, http.DefaultClient, jwksServer(t, ring), s, "alice-id"); err != nil {
		t.Errorf("the store's own Keyward: %v", err)
	}
	other := jwksServer(t, otherRing)
	err = checkPublished(ctx, http.DefaultClient, other, s, "alice-id")
	if err == nil || !strings.Contains(err.Error(), "does not publish the signing key") {
		t.Errorf("a Keyward on another store: err = %v", err)
	}
}
