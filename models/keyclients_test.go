package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// Consumer keys in the store, on both backends: a key's owner columns (a user's by
// default, a consumer's only in the one shape), read by the exchange's hot path; the
// consumers' key clients; the consumer's name shown on its keys.
func TestConsumerKeysStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			ctx := context.Background()

			user := mustCreate(t, s, newKey(newOwner()))
			got, err := s.KeyForExchange(ctx, user.LookupID)
			if err != nil || got.OwnerType != models.OwnerUser || got.ConsumerID != "" {
				t.Fatalf("a user's key: %q %q %v", got.OwnerType, got.ConsumerID, err)
			}

			cons := &models.Consumer{Name: "ck-" + token(), Environment: "production"}
			if err := s.CreateConsumer(ctx, cons); err != nil {
				t.Fatal(err)
			}
			k := newKey(models.ConsumerOwnerID(cons.ID))
			k.OwnerType, k.ConsumerID, k.OwnerUsername = models.OwnerConsumer, cons.ID, cons.Name
			mustCreate(t, s, k)
			got, err = s.KeyForExchange(ctx, k.LookupID)
			if err != nil || got.OwnerType != models.OwnerConsumer || got.ConsumerID != cons.ID {
				t.Fatalf("a consumer's key: %q %q %v", got.OwnerType, got.ConsumerID, err)
			}
			for name, bad := range map[string]func(*models.Key){
				"consumer id of a user's key": func(k *models.Key) { k.ConsumerID = cons.ID },
				"owner id not the consumer's": func(k *models.Key) { k.OwnerType, k.ConsumerID = models.OwnerConsumer, cons.ID },
				"consumer id not a UUID": func(k *models.Key) {
					k.OwnerType, k.ConsumerID, k.OwnerID = models.OwnerConsumer, "shop", models.ConsumerOwnerID("shop")
				},
				"unknown owner type": func(k *models.Key) { k.OwnerType = "robot" },
			} {
				k := newKey(newOwner())
				bad(k)
				if err := s.CreateKey(ctx, k); err == nil {
					t.Errorf("%s: stored", name)
				}
			}

			if err := s.RenameKeysOfOwner(ctx, models.ConsumerOwnerID(cons.ID), "renamed"); err != nil {
				t.Fatal(err)
			}
			if row, _ := s.KeyByID(ctx, "", k.ID); row.OwnerUsername != "renamed" {
				t.Fatalf("renamed: %q", row.OwnerUsername)
			}
			if byName, err := s.ConsumerByName(ctx, cons.Name); err != nil || byName.ID != cons.ID {
				t.Fatalf("by name: %+v %v", byName, err)
			}
			if _, err := s.ConsumerByName(ctx, "no-"+token()); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("unknown name: %v", err)
			}

			if _, err := s.ConsumerKeyClientOf(ctx, cons.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("no key client yet: %v", err)
			}
			kc := models.ConsumerKeyClient{ConsumerID: cons.ID, KeycloakID: uuid.NewString(), ClientID: "kw-keys-" + cons.ID, ServiceAccountID: uuid.NewString()}
			if err := s.SaveConsumerKeyClient(ctx, kc); err != nil {
				t.Fatal(err)
			}
			kc.ServiceAccountID = uuid.NewString() // saved again (repaired): replaced
			if err := s.SaveConsumerKeyClient(ctx, kc); err != nil {
				t.Fatal(err)
			}
			if got, err := s.ConsumerKeyClientOf(ctx, cons.ID); err != nil || got != kc {
				t.Fatalf("key client %+v %v", got, err)
			}
			if err := s.DeleteConsumerKeyClient(ctx, cons.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ConsumerKeyClientOf(ctx, cons.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("deleted key client: %v", err)
			}
		})
	}
}
