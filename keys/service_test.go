package keys

// The key lifecycle's rules, on the real embedded store with Keycloak faked at its
// interfaces (the real one is tried in cmd/keyward's end-to-end tests).

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/testkit/fakekc"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

type fakeMinter struct{ prepared []string }

func (m *fakeMinter) Prepare(_ context.Context, o exchange.Owner) error {
	m.prepared = append(m.prepared, o.ID)
	return nil
}
func (m *fakeMinter) Mint(context.Context, string, string) (keycloak.Token, error) {
	return keycloak.Token{}, errors.New("not used here")
}

var (
	alice = audit.Actor{ID: "alice-id", Name: "alice"}
	bob   = audit.Actor{ID: "bob-id", Name: "bob"}
	carol = audit.Actor{ID: "carol-id", Name: "carol", Admin: true}
)

type fixture struct {
	svc   *Service
	store *models.Store
	clock *testkit.Clock
	now   time.Time // where clock stands: no test here moves it
	min   *fakeMinter
}

func newFixture(t *testing.T, tune func(*Config)) *fixture {
	t.Helper()
	store, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	hasher, _ := exchange.NewHasher([]byte(strings.Repeat("h", 32)))
	deny, _ := exchange.NewRoleDenylist([]string{"keyward-admin"})
	f := &fixture{store: store, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), min: &fakeMinter{}}
	f.clock = testkit.NewClock(f.now)
	cfg := Config{
		Store: store, Hasher: hasher, Minter: f.min, Deny: deny,
		Users: fakekc.Users{
			"alice": {ID: "alice-id", Username: "alice"}, "bob": {ID: "bob-id", Username: "bob"},
			"root": {ID: "root-id", Username: "root"}, "robot": {ID: "sa-id", Username: "service-account-robot", ServiceAccount: true},
		},
		Roles:        fakekc.Roles{"root-id": {Clients: map[string][]string{"realm-management": {"view-users"}}}},
		Audit:        audit.NewRecorder(store, zap.NewNop(), f.clock.Now),
		Limits:       exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 600, Window: time.Minute}},
		OwnerMaxRate: ratelimit.Limit{Requests: 6000, Window: time.Minute},
		Clock:        f.clock.Now,
	}
	if tune != nil {
		tune(&cfg)
	}
	f.svc = New(cfg)
	return f
}

func (f *fixture) create(t *testing.T, a audit.Actor, p CreateParams) Created {
	t.Helper()
	c, err := f.svc.Create(context.Background(), a, p)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return c
}

func fieldsOf(err error) map[string]string {
	var v *errs.Validation
	out := map[string]string{}
	if errors.As(err, &v) {
		for _, fe := range v.Fields {
			out[fe.Field] = fe.Message
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestCreate_EveryBadFieldAtOnce_NothingWritten(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.svc.Create(context.Background(), alice, CreateParams{
		Name: "bad\u202Ename", Description: "zero\u200Bwidth", Environment: "prod",
		ExpiresInDays: ptr(0), Scopes: []string{"no spaces"}, Metadata: json.RawMessage(`[1]`),
		RateLimit: &RateLimit{Requests: 0, WindowSeconds: 60}, IPAllowlist: []string{"10.0.0.0/33"},
	})
	got := fieldsOf(err)
	for _, field := range []string{"name", "description", "environment", "expires_in_days", "scopes", "metadata", "rate_limit.requests", "ip_allowlist"} {
		if got[field] == "" {
			t.Errorf("no problem named for %s (got %v)", field, got)
		}
	}
	if n, _ := f.store.ListKeys(context.Background(), models.KeyFilter{Now: f.now, Limit: 10}); len(n) != 0 {
		t.Fatalf("%d keys written", len(n))
	}
	if len(f.min.prepared) != 0 {
		t.Fatal("Keycloak was called for a refused request")
	}
}

func TestCreate_OneExpiryForm(t *testing.T) {
	f := newFixture(t, nil)
	in := f.now.Add(48 * time.Hour).Format(time.RFC3339)
	_, err := f.svc.Create(context.Background(), alice, CreateParams{Name: "x", ExpiresInDays: ptr(3), ExpiresAt: &in})
	if fieldsOf(err)["expires_at"] == "" {
		t.Fatalf("two expiry forms: %v", err)
	}
	c := f.create(t, alice, CreateParams{Name: "default"})
	if c.Key.ExpiresAt == nil || !c.Key.ExpiresAt.Equal(f.now.AddDate(0, 0, DefaultExpiryDays)) {
		t.Fatalf("default expiry %v", c.Key.ExpiresAt)
	}
	if c := f.create(t, alice, CreateParams{Name: "never", NeverExpires: ptr(true)}); c.Key.ExpiresAt != nil {
		t.Fatal("never_expires got an expiry")
	}
}

func TestCreate_ForAnother_OnlyAdmins_NeverServiceAccounts_NeverUpward(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.svc.Create(context.Background(), bob, CreateParams{Name: "x", Owner: "alice"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a user creating for another: %v", err)
	}
	if _, err := f.svc.Create(context.Background(), carol, CreateParams{Name: "x", Owner: "service-account-robot"}); !strings.Contains(fieldsOf(err)["owner"], "service account") {
		t.Fatalf("a service-account owner: %v", err)
	}
	_, err := f.svc.Create(context.Background(), carol, CreateParams{Name: "x", Owner: "root"})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "realm-management:view-users") {
		t.Fatalf("an upward owner: %v", err)
	}
	if _, err := f.svc.Create(context.Background(), carol, CreateParams{Name: "x", Owner: "nobody"}); fieldsOf(err)["owner"] == "" {
		t.Fatalf("an unknown owner: %v", err)
	}
	c := f.create(t, carol, CreateParams{Name: "for-alice", Owner: "alice", RateLimit: &RateLimit{Requests: 10000, WindowSeconds: 60}})
	if c.Key.OwnerID != "alice-id" || c.Key.AdminSet.RateLimit != "carol" {
		t.Fatalf("owner %q, limit set by %q", c.Key.OwnerID, c.Key.AdminSet.RateLimit)
	}
	events, _ := f.store.ListAudit(context.Background(), models.AuditFilter{OwnerID: "alice-id", Limit: 10})
	if len(events) != 1 || events[0].OnBehalfOf != "alice-id" || events[0].ActorID != "carol-id" {
		t.Fatalf("audit %+v", events)
	}
}

func TestCreate_Ceilings(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxKeysPerUser = 2 })
	f.create(t, alice, CreateParams{Name: "a"})
	f.create(t, alice, CreateParams{Name: "b"})
	if _, err := f.svc.Create(context.Background(), alice, CreateParams{Name: "c"}); !errors.Is(err, ErrLimit) {
		t.Fatalf("third key: %v", err)
	}
	f.create(t, bob, CreateParams{Name: "a"})
	if _, err := f.svc.Create(context.Background(), bob, CreateParams{Name: "fast", RateLimit: &RateLimit{Requests: 6001, WindowSeconds: 60}}); fieldsOf(err)["rate_limit"] == "" {
		t.Fatalf("an owner above the rate ceiling: %v", err)
	}
}

func TestRateAtMost(t *testing.T) {
	for _, tc := range []struct {
		req, win int
		want     bool
	}{{100, 60, true}, {101, 60, false}, {50, 30, true}, {100, 30, false}, {1000, 600, false}, {100, 120, true}} {
		if got := rateAtMost(tc.req, tc.win, 100, 60); got != tc.want {
			t.Errorf("rateAtMost(%d per %d s, 100 per 60 s) = %v", tc.req, tc.win, got)
		}
	}
}

func TestUpdate_ExpiryShortenedNeverExtended(t *testing.T) {
	f := newFixture(t, nil)
	c := f.create(t, alice, CreateParams{Name: "x", ExpiresInDays: ptr(30)})
	later := f.now.AddDate(0, 0, 31).Format(time.RFC3339)
	if _, err := f.svc.Update(context.Background(), alice, c.Key.ID, UpdateParams{ExpiresAt: &later}); fieldsOf(err)["expires_at"] == "" {
		t.Fatalf("extended: %v", err)
	}
	sooner := f.now.AddDate(0, 0, 10).Format(time.RFC3339)
	if k, err := f.svc.Update(context.Background(), alice, c.Key.ID, UpdateParams{ExpiresAt: &sooner}); err != nil || k.Status != "active" {
		t.Fatalf("shortened: %v", err)
	}
}

func TestUpdate_AnotherUsersKey_NotFound(t *testing.T) {
	f := newFixture(t, nil)
	c := f.create(t, alice, CreateParams{Name: "x"})
	for _, try := range []func() error{
		func() error { _, err := f.svc.Get(context.Background(), bob, c.Key.ID); return err },
		func() error {
			_, err := f.svc.Update(context.Background(), bob, c.Key.ID, UpdateParams{Enabled: ptr(false)})
			return err
		},
		func() error { _, err := f.svc.Rotate(context.Background(), bob, c.Key.ID, nil); return err },
		func() error { return f.svc.Delete(context.Background(), bob, c.Key.ID) },
		func() error { _, err := f.svc.Usage(context.Background(), bob, c.Key.ID, 7); return err },
	} {
		if err := try(); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob on alice's key: %v", err)
		}
	}
}

func TestUpdate_AdminDecisionsStick(t *testing.T) {
	f := newFixture(t, nil)
	id := f.create(t, alice, CreateParams{Name: "x"}).Key.ID
	upd := func(a audit.Actor, p UpdateParams) error {
		_, err := f.svc.Update(context.Background(), a, id, p)
		return err
	}
	if err := upd(carol, UpdateParams{Enabled: ptr(false), RateLimit: &RateLimit{Requests: 100, WindowSeconds: 60},
		IPAllowlist: &[]string{"10.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]UpdateParams{
		"enable":          {Enabled: ptr(true)},
		"raise the limit": {RateLimit: &RateLimit{Requests: 200, WindowSeconds: 60}},
		"widen the list":  {IPAllowlist: &[]string{"0.0.0.0/0"}},
		"drop the list":   {IPAllowlist: &[]string{}},
	} {
		if err := upd(alice, p); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "carol") {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, p := range map[string]UpdateParams{
		"lower the limit":    {RateLimit: &RateLimit{Requests: 10, WindowSeconds: 60}},
		"narrow the list":    {IPAllowlist: &[]string{"10.1.0.0/16"}},
		"disable it herself": {Enabled: ptr(false)},
	} {
		if err := upd(alice, p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := upd(carol, UpdateParams{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if k, _ := f.svc.Get(context.Background(), alice, id); k.AdminSet.Disabled != "" || !k.Enabled {
		t.Fatalf("after the admin enabled it: disabled by %q, enabled %v", k.AdminSet.Disabled, k.Enabled)
	}
}

func TestRotate_GraceBoundedAndCappedByExpiry(t *testing.T) {
	f := newFixture(t, nil)
	c := f.create(t, alice, CreateParams{Name: "x", ExpiresInDays: ptr(2)})
	if _, err := f.svc.Rotate(context.Background(), alice, c.Key.ID, ptr(api.KeyGraceHoursMax+1)); fieldsOf(err)["grace_period_hours"] == "" {
		t.Fatalf("grace above the bound: %v", err)
	}
	next, err := f.svc.Rotate(context.Background(), alice, c.Key.ID, ptr(720))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := f.svc.Get(context.Background(), alice, c.Key.ID)
	if old.GraceUntil == nil || !old.GraceUntil.Equal(*c.Key.ExpiresAt) || next.Plaintext == c.Plaintext {
		t.Fatalf("grace until %v, want the old key's expiry %v", old.GraceUntil, c.Key.ExpiresAt)
	}
	if _, err := f.svc.Rotate(context.Background(), alice, c.Key.ID, nil); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a second rotation of the same key: %v", err)
	}
	rootKey := f.create(t, audit.Actor{ID: "root-id", Name: "root"}, CreateParams{Name: "mine"})
	if _, err := f.svc.Rotate(context.Background(), carol, rootKey.Key.ID, nil); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an admin rotating an upward user's key: %v", err)
	}
}
