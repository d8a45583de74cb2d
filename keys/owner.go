package keys

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/models"
)

// What happens to an owner's keys when Keycloak says something happened to the owner
// (events.Follower). The actor names Keycloak's event; details say which one.

// RevokeAllOfOwner revokes every live key of ownerID (the user was deleted), each
// audited as key.delete by a, and returns how many it revoked.
func (k *Service) RevokeAllOfOwner(ctx context.Context, a audit.Actor, ownerID string, details map[string]any) (int, error) {
	revoked, err := k.store.DeleteKeysOfOwner(ctx, ownerID, k.clock())
	if err != nil {
		return 0, err
	}
	for _, key := range revoked {
		k.cache.Drop(key.ID)
		k.audit.Record(ctx, actingFor(a, key.OwnerID), "key.delete", "key", key.ID, key.OwnerID,
			withKeyDetails(details, key))
	}
	return len(revoked), nil
}

// SetOwnerDisabled marks ownerID's keys owner_disabled (or clears the mark), audited as
// key.owner_disabled / key.owner_enabled for each key whose mark changed.
func (k *Service) SetOwnerDisabled(ctx context.Context, a audit.Actor, ownerID string, disabled bool, details map[string]any) (int, error) {
	changed, err := k.store.SetOwnerDisabled(ctx, ownerID, disabled)
	if err != nil {
		return 0, err
	}
	action := map[bool]string{true: "key.owner_disabled", false: "key.owner_enabled"}[disabled]
	for _, key := range changed {
		k.cache.Drop(key.ID)
		k.audit.Record(ctx, actingFor(a, key.OwnerID), action, "key", key.ID, key.OwnerID, withKeyDetails(details, key))
	}
	return len(changed), nil
}

// DisableAllOfOwner disables every enabled live key of ownerID created before `before`
// (a password reset or a sign-out everywhere at that time, when so configured: a key
// made after it was made with the new credentials), audited as key.disable. The owner
// may enable them again: the decision is not an admin's.
func (k *Service) DisableAllOfOwner(ctx context.Context, a audit.Actor, ownerID string, before time.Time, details map[string]any) (int, error) {
	live, err := k.store.LiveKeysOfOwner(ctx, ownerID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, key := range live {
		if !key.Enabled || !key.CreatedAt.Before(before) {
			continue
		}
		was := false
		updated, err := k.store.UpdateKey(ctx, "", key.ID, func(row *models.Key) error {
			was, row.Enabled = row.Enabled, false
			return nil
		})
		if errors.Is(err, models.ErrNotFound) {
			continue // revoked meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("disable key: %w", err)
		}
		k.cache.Drop(updated.ID)
		if was {
			n++
			k.audit.Record(ctx, actingFor(a, updated.OwnerID), "key.disable", "key", updated.ID, updated.OwnerID,
				withKeyDetails(details, updated))
		}
	}
	return n, nil
}

// DropOwnerTokens forgets the cached tokens of ownerID's keys (their roles or groups
// changed), or of every key when ownerID is "" (a group's or a role's definition changed).
func (k *Service) DropOwnerTokens(ownerID string) {
	if ownerID == "" {
		k.cache.DropAll()
		return
	}
	k.cache.DropOwner(ownerID)
}

func withKeyDetails(details map[string]any, key models.Key) map[string]any {
	out := maps.Clone(details)
	if out == nil {
		out = map[string]any{}
	}
	out["name"], out["prefix"] = key.Name, prefixOf(key)
	return out
}
