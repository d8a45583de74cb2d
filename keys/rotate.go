package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

// Rotate issues a new key with the same settings and keeps the old one working until
// now + grace (never past its own expiry).
func (k *Service) Rotate(ctx context.Context, a audit.Actor, id string, graceHours *int) (Created, error) {
	grace := DefaultGraceHours
	if graceHours != nil {
		grace = *graceHours
	}
	if grace < 0 || grace > api.KeyGraceHoursMax {
		return Created{}, errs.Field("grace_period_hours", fmt.Sprintf("must be between 0 and %d", api.KeyGraceHoursMax))
	}
	old, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return Created{}, err
	}
	if old.OwnerID != a.ID && old.OwnerType != models.OwnerConsumer { // a consumer holds no roles
		if err := k.mayActFor(ctx, exchange.Owner{ID: old.OwnerID, Username: old.OwnerUsername}, "rotate"); err != nil {
			return Created{}, err
		}
	}
	now := k.clock().UTC()
	textEnv, _ := exchange.TextEnv(old.Environment)
	parsed, err := exchange.GenerateKey(textEnv)
	if err != nil {
		return Created{}, err
	}
	next := rotatedRow(old, parsed.LookupID, k.hasher.Hash(parsed.Secret), now)
	graceUntil := now.Add(time.Duration(grace) * time.Hour)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(graceUntil) {
		graceUntil = *old.ExpiresAt // never past the old key's own expiry
	}
	prev, err := k.store.RotateKey(ctx, ownerScope(a), old.ID, &next, graceUntil)
	if err != nil {
		return Created{}, err
	}
	if !graceUntil.After(now) {
		k.cache.Drop(prev.ID)
	}
	k.audit.Record(ctx, actingFor(a, prev.OwnerID), "key.rotate", "key", prev.ID, prev.OwnerID, map[string]any{
		"new_key_id": next.ID, "grace_period_hours": grace, "prefix": prefixOf(next),
	})
	return Created{Key: k.key(next), Plaintext: parsed.String()}, nil
}

// Delete revokes a key: from this moment the exchange refuses it.
func (k *Service) Delete(ctx context.Context, a audit.Actor, id string) error {
	key, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return err
	}
	if err := k.store.DeleteKey(ctx, ownerScope(a), key.ID, k.clock().UTC()); err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	k.cache.Drop(key.ID)
	k.audit.Record(ctx, actingFor(a, key.OwnerID), "key.delete", "key", key.ID, key.OwnerID, map[string]any{"name": key.Name, "prefix": prefixOf(key)})
	return nil
}
