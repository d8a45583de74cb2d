package models_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// The upgrade test: a store written by the previous release — commit d7749aa, the last
// state before this release's changes (there are no tags) — is opened by this one.
// testdata/upgrade holds what that release wrote, made by scripts/upgrade-fixture.sh:
// keyward.db (SQLite), postgres.sql (pg_dump of the same rows) and want.json (the rows
// as that release read them back, with the fixture's key text and pepper).
const upgradeFrom = "d7749aa"

// upgradeWant is want.json: each row kept as JSON fields, so that columns this release
// adds are allowed and every old one must read back the same.
type upgradeWant struct {
	Keys      []map[string]any
	Consumer  map[string]any
	Client    map[string]any
	Webhook   map[string]any
	Audit     []map[string]any
	Usage     []map[string]any
	KeyText   string
	KeyPepper string
}

func TestUpgrade_StoreOfThePreviousRelease_OpensIntact(t *testing.T) {
	dir := filepath.Join("testdata", "upgrade")
	rev, err := os.ReadFile(filepath.Join(dir, "REVISION"))
	if err != nil || !strings.HasPrefix(string(rev), upgradeFrom) {
		t.Fatalf("fixture made from %q, %v; want %s", rev, err, upgradeFrom)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "want.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want upgradeWant
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string {
			db, err := os.ReadFile(filepath.Join(dir, "keyward.db"))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "keyward.db")
			if err := os.WriteFile(path, db, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}},
		{"postgres", func(t *testing.T) string {
			dsn := pgtest.DSN(t)
			dump, err := os.ReadFile(filepath.Join(dir, "postgres.sql"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			// The simple protocol runs the dump's statements one after the other.
			if _, err := conn.PgConn().Exec(context.Background(), string(dump)).ReadAll(); err != nil {
				t.Fatalf("restore the dump: %v", err)
			}
			return dsn
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s := openStore(t, dsn, nil) // migrates
			checkUpgraded(t, s, want)
			// A second start (another replica, a restart) finds the schema current.
			again := openStore(t, dsn, nil)
			checkUpgraded(t, again, want)
		})
	}
}

func checkUpgraded(t *testing.T, s *models.Store, want upgradeWant) {
	t.Helper()
	ctx := context.Background()
	for _, wk := range want.Keys {
		k, err := s.KeyByIDAnyState(ctx, wk["ID"].(string))
		if err != nil {
			t.Fatalf("key %v: %v", wk["ID"], err)
		}
		sameFields(t, "key "+k.Name, wk, k)
	}
	c, err := s.ConsumerByID(ctx, want.Consumer["ID"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sameFields(t, "consumer", want.Consumer, c)
	if !c.Enabled {
		t.Error("the previous release's consumer reads disabled")
	}
	cl, err := s.ClientByID(ctx, want.Client["ID"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sameFields(t, "client", want.Client, cl)
	ep, err := s.WebhookEndpoint(ctx, want.Webhook["ID"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sameFields(t, "webhook", want.Webhook, ep)
	evs, err := s.ListAudit(ctx, models.AuditFilter{})
	if err != nil || len(evs) != len(want.Audit) {
		t.Fatalf("audit: %d events, %v; want %d", len(evs), err, len(want.Audit))
	}
	for i := range evs {
		sameFields(t, "audit event", want.Audit[i], evs[i])
	}
	usage, err := s.UsageByKey(ctx, want.Keys[0]["ID"].(string), "2026-01-01")
	if err != nil || len(usage) != len(want.Usage) {
		t.Fatalf("usage: %d counters, %v; want %d", len(usage), err, len(want.Usage))
	}
	for i := range usage {
		sameFields(t, "usage counter", want.Usage[i], usage[i])
	}

	// The live key exchanges (a fake minter stands for Keycloak); the disabled one not.
	h, err := exchange.NewHasher([]byte(want.KeyPepper))
	if err != nil {
		t.Fatal(err)
	}
	ex := exchange.NewExchanger(exchange.ExchangerConfig{
		Keys: s, Hasher: h, Minter: upgradeMinter{},
		Clock: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) },
	})
	res := ex.Exchange(ctx, exchange.Request{APIKey: want.KeyText, Scope: "reports", ClientIP: netip.MustParseAddr("127.0.0.1")})
	if res.Outcome != exchange.OutcomeIssued {
		t.Fatalf("exchange of the old key: %s (%v); want issued", res.Outcome, res.Err)
	}
	res = ex.Exchange(ctx, exchange.Request{APIKey: want.KeyText, ClientIP: netip.MustParseAddr("192.0.2.1")})
	if res.Outcome != exchange.OutcomeIPDenied {
		t.Fatalf("exchange from outside the old key's allowlist: %s; want ip_denied", res.Outcome)
	}
}

// sameFields fails unless every field of want (that release's JSON of the row) is the
// same in got (this release's row, as JSON).
func sameFields(t *testing.T, what string, want map[string]any, got any) {
	t.Helper()
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var have map[string]any
	if err := json.Unmarshal(raw, &have); err != nil {
		t.Fatal(err)
	}
	for field, w := range want {
		h, ok := have[field]
		if !ok {
			t.Errorf("%s: field %s is gone", what, field)
		} else if !reflect.DeepEqual(h, w) {
			t.Errorf("%s: %s = %v; the previous release read %v", what, field, h, w)
		}
	}
}

type upgradeMinter struct{}

func (upgradeMinter) Prepare(context.Context, exchange.Owner) error { return nil }
func (upgradeMinter) Mint(_ context.Context, ownerID, scope string) (keycloak.Token, error) {
	return keycloak.Token{AccessToken: testkit.IssuedToken(ownerID, "alice", nil, nil), ExpiresIn: 300, Scope: scope}, nil
}
