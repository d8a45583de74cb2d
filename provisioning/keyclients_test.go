package provisioning

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// keyClientKC records the key clients as Keycloak would hold them.
type keyClientKC struct {
	ensured []keycloak.KeyClient
	groups  map[string][]string // service account → group ids
	deleted []string
	enabled map[string]bool // Keycloak id → enabled, once set
	failSet error
}

func (k *keyClientKC) EnsureKeyClient(_ context.Context, c keycloak.KeyClient) (keycloak.KeyClientIDs, error) {
	k.ensured = append(k.ensured, c)
	k.groups["sa-"+c.ClientID] = slices.Clone(c.Groups)
	return keycloak.KeyClientIDs{ID: "kc-" + c.ClientID, ClientID: c.ClientID, ServiceAccountID: "sa-" + c.ClientID}, nil
}
func (k *keyClientKC) SetUserGroups(_ context.Context, user string, ids []string) error {
	if k.failSet != nil {
		return k.failSet
	}
	k.groups[user] = slices.Clone(ids)
	return nil
}
func (k *keyClientKC) UpdateServiceClient(_ context.Context, id string, ch keycloak.ClientChange) error {
	if k.failSet != nil {
		return k.failSet
	}
	if ch.Enabled != nil {
		k.enabled[id] = *ch.Enabled
	}
	return nil
}
func (k *keyClientKC) DeleteServiceClient(_ context.Context, id string) error {
	k.deleted = append(k.deleted, id)
	return nil
}

// consumerKeysRec records what provisioning asks of the key lifecycle.
type consumerKeysRec struct{ revoked, renamed, dropped []string }

func (r *consumerKeysRec) RevokeAllOfConsumer(_ context.Context, _ audit.Actor, id string) (int, error) {
	r.revoked = append(r.revoked, id)
	return 1, nil
}
func (r *consumerKeysRec) RenameConsumerKeys(_ context.Context, id, name string) error {
	r.renamed = append(r.renamed, id+"="+name)
	return nil
}
func (r *consumerKeysRec) DropConsumerTokens(id string) { r.dropped = append(r.dropped, id) }

func keyClientEnv(t *testing.T) (*env, *keyClientKC, *consumerKeysRec) {
	e := newEnv(t)
	kc, rec := &keyClientKC{groups: map[string][]string{}, enabled: map[string]bool{}}, &consumerKeysRec{}
	e.svc.UseKeyClients(KeyClients{Keycloak: kc, Store: e.store.Store, Keys: rec, JWKSURL: "https://keyward.test/.well-known/jwks.json"})
	return e, kc, rec
}

func TestKeyClient_PreparedWithTheConsumersGroups_FollowsThem_GoesWithTheConsumer(t *testing.T) {
	e, kc, rec := keyClientEnv(t)
	ctx := context.Background()
	a, b := e.group(t, "a"), e.group(t, "b")
	c := e.consumer(t, "shop", "a")
	for _, ref := range []string{"shop", c.ID} {
		got, err := e.svc.KeyConsumer(ctx, ref)
		if err != nil || got.ID != c.ID || got.Name != "shop" {
			t.Fatalf("KeyConsumer(%s): %+v %v", ref, got, err)
		}
	}
	if _, err := e.svc.KeyConsumer(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("an unknown consumer: %v", err)
	}
	// Groups changed before any key: nothing in Keycloak to follow yet.
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{ACLGroups: &[]string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PrepareKeyClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	want := "kw-keys-" + c.ID
	if len(kc.ensured) != 1 || kc.ensured[0].ClientID != want || kc.ensured[0].Attributes[AttrConsumerID] != c.ID ||
		kc.ensured[0].Attributes[AttrClientID] != "" || !strings.HasSuffix(kc.ensured[0].JWKSURL, "/.well-known/jwks.json") ||
		!slices.Equal(kc.groups["sa-"+want], []string{a.ID}) {
		t.Fatalf("ensured %+v, groups %v", kc.ensured, kc.groups)
	}
	ids, err := e.svc.KeyClientOf(ctx, c.ID)
	if err != nil || ids.ClientID != want || ids.ServiceAccountID != "sa-"+want {
		t.Fatalf("KeyClientOf: %+v %v", ids, err)
	}
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{ACLGroups: &[]string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(kc.groups["sa-"+want]))
	if !slices.Equal(got, slices.Sorted(slices.Values([]string{a.ID, b.ID}))) || !slices.Contains(rec.dropped, c.ID) {
		t.Fatalf("after adding b: %v, dropped %v", got, rec.dropped)
	}
	// A failure of the key client undoes the whole change.
	kc.failSet = errors.New("keycloak down")
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{ACLGroups: &[]string{"b"}}); err == nil {
		t.Fatal("a failed key client change went through")
	}
	kc.failSet = nil
	if now, _ := e.svc.Consumer(ctx, c.ID); !slices.Equal(now.ACLGroups, []string{"a", "b"}) {
		t.Fatalf("groups after the failed change: %v", now.ACLGroups)
	}
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Name: ptr("webshop")}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.renamed, []string{c.ID + "=webshop"}) {
		t.Fatalf("renamed %v", rec.renamed)
	}
	if err := e.svc.DeleteConsumer(ctx, admin, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.revoked, []string{c.ID}) || !slices.Equal(kc.deleted, []string{"kc-" + want}) {
		t.Fatalf("revoked %v, deleted %v", rec.revoked, kc.deleted)
	}
	if _, err := e.svc.KeyClientOf(ctx, c.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a deleted consumer's key client: %v", err)
	}
}

func TestConsumer_Disabled_RefusesItsKeys_EnabledAgainRestores(t *testing.T) {
	e, kc, rec := keyClientEnv(t)
	ctx := context.Background()
	e.group(t, "a")
	c := e.consumer(t, "shop", "a")
	if !c.Enabled {
		t.Fatal("a new consumer is disabled")
	}
	if err := e.svc.PrepareKeyClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	kcID := "kc-kw-keys-" + c.ID
	// Keycloak refusing the change leaves the consumer enabled.
	kc.failSet = errors.New("keycloak down")
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Enabled: ptr(false)}); err == nil {
		t.Fatal("a failed disable went through")
	}
	kc.failSet = nil
	if now, _ := e.svc.Consumer(ctx, c.ID); !now.Enabled {
		t.Fatal("disabled after Keycloak refused")
	}
	got, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Enabled: ptr(false)})
	if err != nil || got.Enabled {
		t.Fatalf("disable: %+v %v", got, err)
	}
	if on, set := kc.enabled[kcID]; !set || on || !slices.Contains(rec.dropped, c.ID) {
		t.Fatalf("key client enabled %v (set %v), tokens dropped %v", on, set, rec.dropped)
	}
	if _, err := e.svc.KeyClientOf(ctx, c.ID); !errors.Is(err, ErrConsumerDisabled) || !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a disabled consumer's key client: %v", err)
	}
	// The repair pass (or a new key) keeps it disabled.
	if err := e.svc.PrepareKeyClient(ctx, c.ID); err != nil || kc.enabled[kcID] {
		t.Fatalf("prepared again: enabled %v, %v", kc.enabled[kcID], err)
	}
	rec.dropped = nil
	if got, err = e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Enabled: ptr(true)}); err != nil || !got.Enabled {
		t.Fatalf("enable: %+v %v", got, err)
	}
	if !kc.enabled[kcID] || !slices.Contains(rec.dropped, c.ID) {
		t.Fatalf("key client enabled %v, tokens dropped %v", kc.enabled[kcID], rec.dropped)
	}
	if ids, err := e.svc.KeyClientOf(ctx, c.ID); err != nil || ids.ID != kcID {
		t.Fatalf("enabled again: %+v %v", ids, err)
	}
	var details []string
	for _, ev := range e.audits(t) {
		if ev.Action == "consumer.update" {
			details = append(details, ev.Details)
		}
	}
	if len(details) != 2 || !strings.Contains(details[0], `"enabled":false`) || !strings.Contains(details[1], `"enabled":true`) {
		t.Fatalf("audit: %v", details)
	}
}

// A disabled consumer's OAuth clients are disabled in Keycloak too; enabled again, each
// client is as its own switch says, and a client enabled meanwhile waits for the consumer.
func TestConsumer_Disabled_ClientsFollow_EachKeepsItsOwnSwitch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.consumer(t, "shop")
	on, off := e.client(t, c.ID, "shop-on"), e.client(t, c.ID, "shop-off")
	if _, err := e.svc.UpdateClient(ctx, admin, off.ID, ClientPatch{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	inKC := func(id string) bool {
		row, err := e.store.ClientByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return kcClient(t, e, row.KeycloakID).Info.Enabled
	}
	// Keycloak refusing the change leaves the consumer and its client enabled.
	e.kc.FailOn("UpdateServiceClient", errors.New("keycloak down"), 0)
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Enabled: ptr(false)}); err == nil || !inKC(on.ID) {
		t.Fatalf("a failed disable: %v, client enabled %v", err, inKC(on.ID))
	}
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Enabled: ptr(false)}); err != nil || inKC(on.ID) || inKC(off.ID) {
		t.Fatalf("disabled: %v; in Keycloak %v %v", err, inKC(on.ID), inKC(off.ID))
	}
	// Its own switch changes, Keycloak keeps it disabled; a new client is made disabled.
	if cl, err := e.svc.UpdateClient(ctx, admin, off.ID, ClientPatch{Enabled: ptr(true)}); err != nil || !cl.Enabled || inKC(off.ID) {
		t.Fatalf("a client enabled under a disabled consumer: %+v %v; in Keycloak %v", cl, err, inKC(off.ID))
	}
	late := e.client(t, c.ID, "shop-late")
	if inKC(late.ID) {
		t.Fatal("a new client of a disabled consumer is enabled in Keycloak")
	}
	if _, err := e.svc.UpdateClient(ctx, admin, off.ID, ClientPatch{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if !inKC(on.ID) || inKC(off.ID) || !inKC(late.ID) {
		t.Fatalf("enabled again: in Keycloak %v %v %v, want true false true", inKC(on.ID), inKC(off.ID), inKC(late.ID))
	}
}

func TestConsumer_ContactEmail_CheckedStoredCleared(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, bad := range []string{"nope", "Team <team@example.com>", "a@b", "a@example.com, b@example.com", "x@example.com\n"} {
		_, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "bad", ContactEmail: bad})
		if err == nil || !strings.Contains(err.Error(), "contact_email") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	c, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "shop", ContactEmail: "team@shop.example"})
	if err != nil || c.ContactEmail != "team@shop.example" {
		t.Fatalf("created %+v %v", c, err)
	}
	if got, _ := e.svc.ConsumerContact(ctx, c.ID); got != "team@shop.example" {
		t.Fatalf("contact %q", got)
	}
	c, err = e.svc.UpdateConsumer(ctx, admin, c.ID, ConsumerPatch{ContactEmail: ptr("")})
	if err != nil || c.ContactEmail != "" {
		t.Fatalf("cleared %+v %v", c, err)
	}
}

func ptr[T any](v T) *T { return &v }
