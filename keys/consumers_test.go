package keys

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

// fakeConsumers is provisioning's consumer directory: shop exists.
type fakeConsumers struct{ prepared []string }

const shopID = "0b0e7c3e-5f7a-4b8e-9c59-2b1f6f2d3a11"

func (f *fakeConsumers) KeyConsumer(_ context.Context, idOrName string) (Consumer, error) {
	if idOrName == "shop" || idOrName == shopID {
		return Consumer{ID: shopID, Name: "shop"}, nil
	}
	return Consumer{}, models.ErrNotFound
}

func (f *fakeConsumers) PrepareKeyClient(_ context.Context, id string) error {
	f.prepared = append(f.prepared, id)
	return nil
}

func consumerFixture(t *testing.T) (*fixture, *fakeConsumers) {
	f := newFixture(t, nil)
	d := &fakeConsumers{}
	f.svc.UseConsumers(d)
	return f, d
}

func TestCreate_ConsumerKey_AdminsOnly_KeyClientPrepared(t *testing.T) {
	f, d := consumerFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, alice, CreateParams{Name: "x", Consumer: "shop"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a user creating a consumer key: %v", err)
	}
	if _, err := f.svc.Create(ctx, carol, CreateParams{Name: "x", Consumer: "nope"}); fieldsOf(err)["consumer"] == "" {
		t.Fatalf("an unknown consumer: %v", err)
	}
	if _, err := f.svc.Create(ctx, carol, CreateParams{Name: "x", Consumer: "shop", Owner: "alice"}); fieldsOf(err)["consumer"] == "" {
		t.Fatalf("consumer and owner together: %v", err)
	}
	if len(d.prepared) != 0 {
		t.Fatalf("a refused create prepared a key client: %v", d.prepared)
	}
	c := f.create(t, carol, CreateParams{Name: "orders", Consumer: "shop"})
	if c.Key.Consumer == nil || c.Key.Consumer.ID != shopID || c.Key.Consumer.Name != "shop" || c.Key.OwnerUsername != "shop" {
		t.Fatalf("key %+v", c.Key)
	}
	if len(d.prepared) != 1 || d.prepared[0] != shopID || len(f.min.prepared) != 0 {
		t.Fatalf("prepared key clients %v, users %v", d.prepared, f.min.prepared)
	}
	row, _ := f.store.KeyByID(ctx, "", c.Key.ID)
	if row.OwnerType != models.OwnerConsumer || row.ConsumerID != shopID || row.OwnerID != models.ConsumerOwnerID(shopID) {
		t.Fatalf("row owner %q %q %q", row.OwnerType, row.ConsumerID, row.OwnerID)
	}
}

func TestConsumerKey_UsersNeverSeeIt(t *testing.T) {
	f, _ := consumerFixture(t)
	ctx := context.Background()
	c := f.create(t, carol, CreateParams{Name: "orders", Consumer: "shop"})
	f.create(t, alice, CreateParams{Name: "mine"})
	if _, err := f.svc.Get(ctx, alice, c.Key.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a user reading a consumer key: %v", err)
	}
	if err := f.svc.Delete(ctx, alice, c.Key.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a user revoking a consumer key: %v", err)
	}
	page, err := f.svc.List(ctx, alice, ListParams{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Consumer != nil {
		t.Fatalf("a user's list: %+v %v", page.Items, err)
	}
	if _, err := f.svc.List(ctx, alice, ListParams{Consumer: "shop"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a user listing a consumer's keys: %v", err)
	}
	page, err = f.svc.List(ctx, carol, ListParams{Consumer: "shop"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != c.Key.ID {
		t.Fatalf("an admin's consumer list: %+v %v", page.Items, err)
	}
	page, err = f.svc.List(ctx, carol, ListParams{Consumer: "nope"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("an unknown consumer's list: %+v %v", page.Items, err)
	}
	if _, err := f.svc.List(ctx, carol, ListParams{Consumer: "shop", Owner: "alice"}); fieldsOf(err)["consumer"] == "" {
		t.Fatalf("consumer and owner together: %v", err)
	}
}

func TestConsumerKey_RotateKeepsItTheConsumers_DeleteRevokes(t *testing.T) {
	f, _ := consumerFixture(t)
	ctx := context.Background()
	c := f.create(t, carol, CreateParams{Name: "orders", Consumer: "shop"})
	next, err := f.svc.Rotate(ctx, carol, c.Key.ID, ptr(0))
	if err != nil || next.Key.Consumer == nil || next.Key.Consumer.ID != shopID {
		t.Fatalf("rotated %+v %v", next.Key, err)
	}
	if err := f.svc.RenameConsumerKeys(ctx, shopID, "webshop"); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(ctx, carol, next.Key.ID)
	if got.Consumer.Name != "webshop" {
		t.Fatalf("renamed consumer shows %q", got.Consumer.Name)
	}
	n, err := f.svc.RevokeAllOfConsumer(ctx, carol, shopID)
	if err != nil || n < 1 {
		t.Fatalf("revoked %d: %v", n, err)
	}
	if _, err := f.svc.Get(ctx, carol, next.Key.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a deleted consumer's key: %v", err)
	}
}

func TestCreate_ConsumerKeys_Off_Refused(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.svc.Create(context.Background(), carol, CreateParams{Name: "x", Consumer: "shop"})
	if !strings.Contains(fieldsOf(err)["consumer"], "not available") {
		t.Fatalf("consumer keys off: %v", err)
	}
}

// A consumer's service account holds no role: a role limit on its key would be
// meaningless (and minted as a person's): refused on create and on update.
func TestConsumerKey_RolesRefused(t *testing.T) {
	f, _ := consumerFixture(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, carol, CreateParams{Name: "x", Consumer: "shop", Roles: []string{"reports-read"}})
	if !strings.Contains(fieldsOf(err)["roles"], "consumer") {
		t.Fatalf("roles on a consumer key: %v", err)
	}
	c := f.create(t, carol, CreateParams{Name: "orders", Consumer: "shop"})
	roles := []string{"reports-read"}
	if _, err := f.svc.Update(ctx, carol, c.Key.ID, UpdateParams{Roles: &roles}); !strings.Contains(fieldsOf(err)["roles"], "consumer") {
		t.Fatalf("roles set on a consumer key by update: %v", err)
	}
	row, _ := f.store.KeyByID(ctx, "", c.Key.ID)
	if row.Roles != "" {
		t.Fatalf("the consumer key's roles were written: %q", row.Roles)
	}
}
