package keys

import (
	"context"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Every column of a stored key reaches the domain value (or is exempted here, with the
// reason), and every field of the domain value is filled from the row: a column added
// to models.Key and forgotten in toKey fails this test.
func TestToKey_EveryColumnReachesTheKey(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	policy := exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 60, Window: time.Minute}}
	var row models.Key
	testkit.Fill(&row)
	row.Environment = "staging"
	row.OwnerType = models.OwnerConsumer // ConsumerID is read for a consumer's key only
	mapped := func(r models.Key) any { return toKey(r, now, policy) }
	testkit.RequireOnly(t, "a column toKey does not read", testkit.Unread(mapped, row), map[string]string{
		"SecretHash": "the HMAC of the secret never leaves the store",
	})
	testkit.RequireOnly(t, "a field of keys.Key toKey leaves empty", testkit.ZeroFields(toKey(row, now, policy)), nil)
}

// Every field of the create and update parameters reaches the stored key: the key read
// back after a create (an update) with every field set differs from the one without
// each field. A parameter validated but never written fails here.
func TestCreateUpdate_EveryParameterReachesTheStoredKey(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits.AllowUnlimited = true
		c.RoleLimits = &fakeRoleLimits{all: true}
		c.Roles = fakekc.Roles{"alice-id": {Realm: []string{"reports-read", "reports-write"}}}
	})
	ctx := context.Background()
	stored := func(c Created, failed error) any {
		if c.Key.ID == "" {
			return failed.Error()
		}
		k, err := f.svc.Get(ctx, carol, c.Key.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Delete(ctx, carol, k.ID); err != nil { // frees the name for the next
			t.Fatal(err)
		}
		if failed != nil {
			return failed.Error()
		}
		k.ID, k.Prefix = "", ""   // new with every key
		k.UpdatedAt = time.Time{} // gorm's wall clock
		return k
	}

	var create CreateParams
	testkit.Fill(&create)
	// Values the filler cannot guess; one expiry form per full request.
	create.Owner, create.Environment, create.IPAllowlist = "alice", "staging", []string{"10.0.0.0/8"}
	create.RateLimit, create.ExpiresAt, create.NeverExpires = &RateLimit{Requests: 5, WindowSeconds: 60}, nil, nil
	create.Roles, create.ACLGroups = []string{"reports-read"}, nil
	at, never := create, create
	at.ExpiresInDays, at.ExpiresAt = nil, ptr("2027-01-01T00:00:00Z")
	never.ExpiresInDays, never.NeverExpires, never.RateLimit = nil, ptr(true), &RateLimit{Unlimited: true}
	created := func(p CreateParams) any { return stored(f.svc.Create(ctx, carol, p)) }
	create.Consumer = "" // a key is a user's or a consumer's: owner is set
	at.Consumer, never.Consumer = "", ""
	testkit.RequireOnly(t, "a create parameter the stored key lacks", testkit.Unread(created, create, at, never), map[string]string{
		"acl_groups": "always refused (Keycloak cannot narrow acl_groups): never stored",
		"consumer":   "a key belongs to a user (owner, set here) or a consumer, never both: consumers_test.go holds consumer keys",
	})

	var update UpdateParams
	testkit.Fill(&update)
	update.Enabled, update.ExpiresAt = ptr(false), ptr("2027-01-01T00:00:00Z") // the new key is enabled, expires later
	update.RateLimit, update.IPAllowlist = &RateLimit{Requests: 5, WindowSeconds: 60}, &[]string{"10.0.0.0/8"}
	update.Roles = &[]string{"reports-read"} // narrows a key not limited yet
	unlimited := update
	unlimited.RateLimit = &RateLimit{Unlimited: true}
	updated := func(p UpdateParams) any {
		c := f.create(t, alice, CreateParams{Name: "u"})
		_, err := f.svc.Update(ctx, alice, c.Key.ID, p)
		return stored(c, err)
	}
	testkit.RequireOnly(t, "an update parameter the stored key lacks", testkit.Unread(updated, update, unlimited), nil)
}
