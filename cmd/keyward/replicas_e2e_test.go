package main

// Several replicas on one store: what they must share (pepper, encryption key) and the
// signing keys they share, rotated under load on the real Keycloak.

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
)

// wire builds an app as main does, returning the wiring error instead of failing.
func wire(t *testing.T, kc *kctest.Env, overrides map[string]string) error {
	t.Helper()
	settings := map[string]string{
		"KEYWARD_LISTEN_ADDR": "127.0.0.1:0", "KEYWARD_PUBLIC_URL": kc.PublicURL, "KEYWARD_KEYCLOAK_URL": kc.URL,
		"KEYWARD_REALM": kc.Realm, "KEYWARD_CLIENT_ID": kc.ClientID, "KEYWARD_CLIENT_SECRET": kc.ClientSecret,
		"KEYWARD_ADMIN_CLIENT_ID": kc.AdminClientID, "KEYWARD_ADMIN_CLIENT_SECRET": kc.AdminClientSecret,
		"KEYWARD_DATA_DIR": t.TempDir(), "KEYWARD_SIGNING_KEY_FILE": kc.SigningKeyFile,
	}
	for k, v := range overrides {
		settings[k] = v
	}
	cfg, err := loadConfig(nil, func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, zap.NewNop())
	if err == nil {
		_ = a.Close()
	}
	return err
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A replica whose pepper or encryption key is not the store's refuses to start, and
// says which; the store keeps neither secret, only their fingerprints.
func TestReplica_OtherPepperOrEncryptionKey_RefusesToStart(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	pepperA, pepperB := strings.Repeat("a", 32), strings.Repeat("b", 32)
	keyA, keyB := b64(strings.Repeat("A", 32)), b64(strings.Repeat("B", 32))
	with := func(pepper, key string) map[string]string {
		return map[string]string{"KEYWARD_DATABASE_URL": dsn, "KEYWARD_KEY_PEPPER": pepper, "KEYWARD_ENCRYPTION_KEY": key}
	}
	if err := wire(t, kc, with(pepperA, keyA)); err != nil {
		t.Fatalf("the first replica: %v", err)
	}
	if err := wire(t, kc, with(pepperA, keyA)); err != nil {
		t.Fatalf("a replica with the same secrets: %v", err)
	}
	err := wire(t, kc, with(pepperB, keyA))
	if err == nil || !strings.Contains(err.Error(), "pepper") || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("another pepper: %v", err)
	}
	err = wire(t, kc, with(pepperA, keyB))
	if err == nil || !strings.Contains(err.Error(), "encryption key") || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("another encryption key: %v", err)
	}
	assertStoreHoldsNoSecret(t, dsn, []byte(pepperA), []byte(strings.Repeat("A", 32)))
}

// assertStoreHoldsNoSecret looks through what the store keeps of secrets: fingerprints
// and sealed signing keys, none holding a secret in clear.
func assertStoreHoldsNoSecret(t *testing.T, dsn string, secrets ...[]byte) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT value FROM store_settings UNION ALL SELECT sealed FROM signing_keys")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		n++
		for _, s := range secrets {
			if bytes.Contains(v, s) || bytes.Contains(v, []byte(base64.StdEncoding.EncodeToString(s))) {
				t.Fatal("the store holds a secret in clear")
			}
		}
	}
	if n < 3 { // two fingerprints and a signing key
		t.Fatalf("%d values looked at, want at least 3", n)
	}
}
