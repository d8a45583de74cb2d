package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	kwconfig "github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/sealbox"
	"github.com/keyward/keyward/models"
)

// storeSigner signs the direct JWT grant's assertions with the key the store signs with
// now, read as a Keyward replica reads it, from the KEYWARD_* settings getenv gives (the
// store, the encryption key). A key file beside the store is no use: the store imports
// one once, or never when it made its own key, and replaces its key every
// KEYWARD_SIGNING_KEY_ROTATION. It only reads: it never imports, creates or rotates a
// key. stop ends its refresh and closes the store.
func storeSigner(ctx context.Context, getenv func(string) string, issuer, audience string) (s *exchange.Signer, stop func(), err error) {
	cfg, err := kwconfig.Load(nil, getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("the store's settings (KEYWARD_*): %w", err)
	}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		if cfg.DataDir == "" {
			return nil, nil, errors.New("no store to read the signing key from: set KEYWARD_DATA_DIR or KEYWARD_DATABASE_URL as for the stack's Keyward")
		}
		file := filepath.Join(cfg.DataDir, "keyward.db") // as cmd/keyward's openStore
		if _, err := os.Stat(file); err != nil {         // Open would create an empty one
			return nil, nil, fmt.Errorf("no store in KEYWARD_DATA_DIR %s: is it the stack's? (%w)", cfg.DataDir, err)
		}
		dsn = "sqlite://" + file
	}
	var key []byte
	if cfg.EncryptionKey != "" {
		key, err = sealbox.ParseKey(cfg.EncryptionKey)
	} else {
		key, err = sealbox.LoadOrCreateKeyFile(cfg.EncryptionKeyFile, false)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("the store's encryption key: %w", err)
	}
	box, err := sealbox.New(key)
	if err != nil {
		return nil, nil, fmt.Errorf("the store's encryption key: %w", err)
	}
	store, err := models.Open(ctx, dsn, nil)
	if err != nil {
		return nil, nil, err
	}
	ring := exchange.NewKeyRing(store, box, cfg.SigningKeyRotation, nil, nil)
	if err := ring.Refresh(ctx); err != nil {
		_ = store.Close()
		return nil, nil, fmt.Errorf("the store's signing keys: %w", err)
	}
	// Reread as replicas do, so that a rotation during the run is followed. Refresh
	// only: Tick would schedule rotations, a write.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(exchange.RingRefresh)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				_ = ring.Refresh(rctx) // on failure it keeps the keys it has
			}
		}
	}()
	return exchange.NewRingSigner(ring, issuer, audience, time.Now), func() {
		cancel()
		<-done
		_ = store.Close()
	}, nil
}

// checkPublished fails, with the reason, when the Keyward at publicURL (whose JWKS the
// realm's identity provider fetches) does not publish the key the signer signs with:
// it runs on another store, and Keycloak would refuse every assertion (invalid_grant).
func checkPublished(ctx context.Context, client *http.Client, publicURL string, s *exchange.Signer, subject string) error {
	assertion, err := s.Assertion(subject)
	if err != nil {
		return err
	}
	kid, err := headerKID(assertion)
	if err != nil {
		return err
	}
	jwksURL := strings.TrimRight(publicURL, "/") + "/.well-known/jwks.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("the JWKS at %s: %w", jwksURL, err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []jwksKey `json:"keys"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the JWKS at %s: HTTP %d", jwksURL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return fmt.Errorf("the JWKS at %s: %w", jwksURL, err)
	}
	if !slices.ContainsFunc(set.Keys, func(k jwksKey) bool { return k.KID == kid }) {
		return fmt.Errorf("the Keyward at %s does not publish the signing key of the store the bench reads "+
			"(KEYWARD_DATA_DIR or KEYWARD_DATABASE_URL): Keycloak would refuse the direct JWT grant; "+
			"run the bench with the store settings the running Keyward was started with", publicURL)
	}
	return nil
}

type jwksKey struct {
	KID string `json:"kid"`
}

// headerKID is the kid in a compact JWS's protected header.
func headerKID(compact string) (string, error) {
	head, _, ok := strings.Cut(compact, ".")
	if !ok {
		return "", errors.New("the assertion is not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", fmt.Errorf("the assertion's header: %w", err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.KID == "" {
		return "", errors.New("the assertion's header has no kid")
	}
	return h.KID, nil
}
