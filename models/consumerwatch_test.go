package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// A consumer's change (enabled, ACL groups) changes no key row, yet its keys' tokens
// must go on every replica: the store announces every live key of the consumer with
// the update, in process and, on PostgreSQL, to the other replicas' listeners.

// consumerKey stores a live key of the consumer.
func consumerKey(t *testing.T, s *models.Store, c *models.Consumer) *models.Key {
	t.Helper()
	k := newKey(models.ConsumerOwnerID(c.ID))
	k.OwnerType, k.ConsumerID, k.OwnerUsername = models.OwnerConsumer, c.ID, c.Name
	return mustCreate(t, s, k)
}

// collect waits until every id of want is heard by r, within 10 s, and returns all
// it heard meanwhile.
func (r *recorder) collect(t *testing.T, what string, want ...string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for {
		missing := false
		for _, id := range want {
			missing = missing || !got[id]
		}
		if !missing {
			return got
		}
		select {
		case id := <-r.changed:
			got[id] = true
		case <-deadline:
			t.Fatalf("%s: heard %v, want %v", what, got, want)
		}
	}
}

func TestWatchKeys_ConsumerUpdateOrDelete_AnnouncesItsLiveKeysOnly(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s := openStore(t, dsn, nil)
			local := watch(t, s)
			var remote *recorder // another replica's store: what reaches it is the notifications
			if b.name == "postgres" {
				remote = watch(t, openStore(t, dsn, nil))
			}
			ctx := context.Background()
			cons := newConsumer(t, s, "watched-"+token(), "g1")
			other := newConsumer(t, s, "other-"+token())
			k1, k2 := consumerKey(t, s, cons), consumerKey(t, s, cons)
			revoked := consumerKey(t, s, cons)
			if err := s.DeleteKey(ctx, "", revoked.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			bystanders := []string{consumerKey(t, s, other).LookupID, mustCreate(t, s, newKey(newOwner())).LookupID, revoked.LookupID}
			if remote != nil {
				remote.collect(t, "the keys' creation", append(bystanders, k1.LookupID, k2.LookupID)...)
				remote.drain()
			}
			local.drain()
			// On PostgreSQL the writer's own listener hears its notifications too, later:
			// only the other replica's are checked for what else was announced.
			check := func(what string, alsoChanged ...string) {
				t.Helper()
				got := local.inProcess()
				if !got[k1.LookupID] || !got[k2.LookupID] {
					t.Errorf("%s: the consumer's keys not announced in process by the time it returned: %v", what, got)
				}
				if remote != nil {
					got = remote.collect(t, what+", on another replica", append(alsoChanged, k1.LookupID, k2.LookupID)...)
				}
				for _, id := range append(bystanders, models.AllKeys) {
					if got[id] && !slices.Contains(alsoChanged, id) {
						t.Errorf("%s: announced %s, not a live key of the consumer", what, id)
					}
				}
			}

			cons.Enabled = false
			if err := s.UpdateConsumer(ctx, cons); err != nil {
				t.Fatal(err)
			}
			check("disabled")
			cons.ACLGroups = []string{"g2"}
			if err := s.UpdateConsumer(ctx, cons); err != nil {
				t.Fatal(err)
			}
			check("groups changed")

			stale := *cons
			stale.Version--
			if err := s.UpdateConsumer(ctx, &stale); !errors.Is(err, models.ErrStale) {
				t.Fatalf("stale update: %v", err)
			}
			if got := local.inProcess(); b.name == "sqlite" && len(got) > 0 {
				t.Errorf("a refused update announced %v", got)
			}

			if err := s.DeleteConsumer(ctx, cons.ID); err != nil {
				t.Fatal(err)
			}
			check("deleted")

			// Its keys renamed: each key it writes, the revoked one too, and no other.
			if err := s.RenameKeysOfOwner(ctx, models.ConsumerOwnerID(cons.ID), "renamed"); err != nil {
				t.Fatal(err)
			}
			check("keys renamed", revoked.LookupID)
		})
	}
}

// The consumer whose key client an admin event names: by its Keycloak id, its
// client_id or its service account's user id.
func TestConsumerOfKeyClient(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			ctx := context.Background()
			cons := newConsumer(t, s, "kc-"+token())
			kc := models.ConsumerKeyClient{ConsumerID: cons.ID, KeycloakID: uuid.NewString(), ClientID: "kw-keys-" + cons.ID,
				ServiceAccountID: uuid.NewString()}
			if err := s.SaveConsumerKeyClient(ctx, kc); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{kc.KeycloakID, kc.ClientID, kc.ServiceAccountID} {
				if got, err := s.ConsumerOfKeyClient(ctx, id); err != nil || got != cons.ID {
					t.Errorf("by %s: %q %v", id, got, err)
				}
			}
			for _, id := range []string{uuid.NewString(), "", cons.ID, "\xff"} {
				if _, err := s.ConsumerOfKeyClient(ctx, id); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("by %q: %v, want ErrNotFound", id, err)
				}
			}
		})
	}
}
