package main

// Several replicas on one store: what they must share (pepper, encryption key) and the
// signing keys they share, rotated under load on the real Keycloak.

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/server"
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
	cfg, err := config.LoadValid(nil, func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := server.New(context.Background(), cfg, zap.NewNop())
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

// A replica whose notification connection is killed (and kept from reconnecting) says
// so in /readyz and its metric, still answers exchanges from the store, and says so no
// more once it is back.
func TestReplica_ListenConnectionKilled_ReadyzAndMetricSaySo(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	app := startApp(t, kc, dsn)
	_, key := app.createKey(t, kc.Login(t, "alice"), "listen-killed")
	app.mustToken(t, key)
	state := func() (ready, metric string) {
		r := call(t, "GET", app.url+"/readyz", nil)
		m := call(t, "GET", app.url+"/metrics", nil)
		for _, line := range strings.Split(m.raw, "\n") {
			if strings.HasPrefix(line, "keyward_key_state_in_memory ") {
				metric = strings.TrimPrefix(line, "keyward_key_state_in_memory ")
			}
		}
		return r.raw, metric
	}
	if ready, metric := state(); !strings.Contains(ready, `"key_notifications":"up"`) || metric != "1" {
		t.Fatalf("before: readyz %s, metric %q", ready, metric)
	}
	ctx := context.Background()
	server, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvServerURL))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close(ctx)
	db := pgx.Identifier{strings.TrimPrefix(mustParse(t, dsn).Path, "/")}.Sanitize()
	exec := func(sql string) {
		if _, err := server.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false")
	defer func() { _, _ = server.Exec(ctx, "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true") }()
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + models.ListenApplicationName + "'")
	waitFor(t, "readyz and the metric say down", func() bool {
		ready, metric := state()
		return strings.Contains(ready, `"key_notifications":"down"`) && metric == "0"
	})
	if got := app.exchange(t, key); got.status != 200 {
		t.Fatalf("exchange while the notifications are down: %d %s", got.status, got.raw)
	}
	exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true")
	waitFor(t, "readyz and the metric say up again", func() bool {
		ready, metric := state()
		return strings.Contains(ready, `"key_notifications":"up"`) && metric == "1"
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
