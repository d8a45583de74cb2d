package keys

import (
	"context"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/models"
)

func TestCreate_ForAUserDisabledInKeycloak_ShowsOwnerDisabled(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Users = fakekc.Users{"alice": {ID: "alice-id", Username: "alice", Enabled: false}, "bob": {ID: "bob-id", Username: "bob", Enabled: true}}
	})
	forAlice := f.create(t, carol, CreateParams{Name: "for-alice", Owner: "alice"})
	forBob := f.create(t, carol, CreateParams{Name: "for-bob", Owner: "bob"})
	if s := forAlice.Key.Status; s != "owner_disabled" {
		t.Fatalf("key of a disabled user: %s", s)
	}
	if s := forBob.Key.Status; s != "active" {
		t.Fatalf("key of an enabled user: %s", s)
	}
}

func TestOwnerReactions_AuditedAsTheActor_OnlyThatOwner(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a1 := f.create(t, alice, CreateParams{Name: "a1"})
	a2 := f.create(t, alice, CreateParams{Name: "a2"})
	b1 := f.create(t, bob, CreateParams{Name: "b1"})
	kc := alice
	kc.ID, kc.Name = "keycloak", "keycloak"
	if n, err := f.svc.SetOwnerDisabled(ctx, kc, "alice-id", true, map[string]any{"event_id": "e1"}); err != nil || n != 2 {
		t.Fatalf("owner disabled: %d %v", n, err)
	}
	got, _ := f.svc.Get(ctx, carol, a1.Key.ID)
	if got.Status != "owner_disabled" {
		t.Fatalf("status %s", got.Status)
	}
	// A reset before the keys were made disables none of them; one after, both.
	if n, err := f.svc.DisableAllOfOwner(ctx, kc, "alice-id", f.now.Add(-time.Second), map[string]any{"event_id": "e2"}); err != nil || n != 0 {
		t.Fatalf("disable all before the keys existed: %d %v", n, err)
	}
	if n, err := f.svc.DisableAllOfOwner(ctx, kc, "alice-id", f.now.Add(time.Second), map[string]any{"event_id": "e2"}); err != nil || n != 2 {
		t.Fatalf("disable all: %d %v", n, err)
	}
	if n, _ := f.svc.DisableAllOfOwner(ctx, kc, "alice-id", f.now.Add(time.Second), map[string]any{"event_id": "e3"}); n != 0 {
		t.Fatalf("disabling again counted %d keys", n)
	}
	if n, err := f.svc.RevokeAllOfOwner(ctx, kc, "alice-id", map[string]any{"event_id": "e4"}); err != nil || n != 2 {
		t.Fatalf("revoke all: %d %v", n, err)
	}
	if _, err := f.svc.Get(ctx, carol, a2.Key.ID); err == nil {
		t.Fatal("a revoked key is still there")
	}
	if k, err := f.svc.Get(ctx, carol, b1.Key.ID); err != nil || k.Status != "active" {
		t.Fatalf("another owner's key: %v %v", k.Status, err)
	}
	evs, _ := f.store.ListAudit(ctx, models.AuditFilter{TargetType: "key", TargetID: a1.Key.ID, Limit: 20})
	seen := map[string]bool{}
	for _, e := range evs {
		if e.ActorName == "keycloak" {
			seen[e.Action] = true
		}
	}
	for _, want := range []string{"key.owner_disabled", "key.disable", "key.delete"} {
		if !seen[want] {
			t.Errorf("no %s by keycloak in the audit: %v", want, seen)
		}
	}
}
