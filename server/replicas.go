package server

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/sealbox"
	"github.com/keyward/keyward/metrics"
	"github.com/keyward/keyward/models"
)

// What replicas share, wired: the pepper and the encryption key checked against the
// store's fingerprints, the signing keys in the store, the key state in memory.

// watchKeyState gives the exchange its in-memory key state, kept true by the store's
// key announcements, and runs the signing-key ring's refresh, until stop is called.
func watchKeyState(ctx context.Context, cfg config.Config, store *models.Store, ring *exchange.KeyRing, m *metrics.Metrics) (state *exchange.KeyState, stop context.CancelFunc) {
	state = exchange.NewKeyState(store, 0, cfg.KeyStateMaxAge, time.Now)
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	store.WatchKeys(wctx, state)
	go ring.Run(wctx)
	m.WatchKeyState(state.Trusted)
	return state, stop
}

// signingKeyToImport reads the configured signing key file: created when absent if
// KEYWARD_SIGNING_KEY_FILE was set (so that replicas and tests given one file share
// one key), read if the default one exists (an older Keyward made it), else none.
func signingKeyToImport(cfg config.Config) (*ecdsa.PrivateKey, error) {
	if !cfg.SigningKeyFileGiven {
		if _, err := os.Stat(cfg.SigningKeyFile); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	return exchange.LoadOrCreateSigningKey(cfg.SigningKeyFile)
}

// encryptionKey is the configured key-encryption key, generated into the data dir when
// none is given.
func encryptionKey(cfg config.Config) (*sealbox.Box, error) {
	key, err := encryptionKeyBytes(cfg)
	if err != nil {
		return nil, err
	}
	return sealbox.New(key)
}

// encryptionKeyBytes is the configured (or generated) encryption key itself: the
// console and webhooks derive their own keys from it, each with a label of its own.
func encryptionKeyBytes(cfg config.Config) ([]byte, error) {
	if cfg.EncryptionKey != "" {
		return sealbox.ParseKey(cfg.EncryptionKey) // Validate checked it
	}
	return sealbox.LoadOrCreateKeyFile(cfg.EncryptionKeyFile, cfg.EncryptionKeyGenerated())
}

// sharedKeys refuses to start on a pepper or an encryption key other than the store's
// (the store keeps their fingerprints, set by the first replica), then loads the
// signing keys, importing the key file once.
func sharedKeys(ctx context.Context, cfg config.Config, store *models.Store, hasher *exchange.Hasher,
	imported *ecdsa.PrivateKey, log *zap.Logger,
) (*exchange.KeyRing, error) {
	err := store.ClaimFingerprint(ctx, models.PepperFingerprint, hasher.Fingerprint())
	if errors.Is(err, models.ErrFingerprintMismatch) {
		return nil, errors.New("refusing to start: this replica's key pepper (KEYWARD_KEY_PEPPER, or key-pepper in the data dir) " +
			"is not the one the store's API keys were hashed with; every replica must use the same pepper, " +
			"or no stored key would ever match")
	}
	if err != nil {
		return nil, err
	}
	box, err := encryptionKey(cfg)
	if err != nil {
		return nil, err
	}
	err = store.ClaimFingerprint(ctx, models.EncryptionKeyFingerprint, box.Fingerprint())
	if errors.Is(err, models.ErrFingerprintMismatch) {
		return nil, errors.New("refusing to start: this replica's encryption key (KEYWARD_ENCRYPTION_KEY, KEYWARD_ENCRYPTION_KEY_FILE, " +
			"or encryption-key in the data dir) is not the one the store's signing keys are encrypted with; " +
			"every replica must use the same encryption key")
	}
	if err != nil {
		return nil, err
	}
	ring := exchange.NewKeyRing(store, box, cfg.SigningKeyRotation, nil, log)
	if err := ring.Init(ctx, imported); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return ring, nil
}
