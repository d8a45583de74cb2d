package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// notDeleted is the condition every read of keys carries.
const notDeleted = "deleted_at IS NULL"

// CreateKey inserts k. It sets k.ID when empty and k.CreatedAt (when zero) and
// k.UpdatedAt, and normalises k's times to what is stored. A LookupID or ID already
// taken, by a live or a deleted key, gives ErrAlreadyExists.
func (s *Store) CreateKey(ctx context.Context, k *Key) error {
	if k.ID == "" {
		k.ID = uuid.NewString()
	} else {
		id, ok := canonicalID(k.ID)
		if !ok {
			return errors.New("models: create key: id is not a UUID")
		}
		k.ID = id
	}
	if err := checkKey(k); err != nil {
		return fmt.Errorf("models: create key: %w", err)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	k.CreatedAt = dbTime(k.CreatedAt)
	k.UpdatedAt = k.CreatedAt
	k.ExpiresAt = dbTimePtr(k.ExpiresAt)
	k.DeletedAt = dbTimePtr(k.DeletedAt)
	k.LastUsedAt = dbTimePtr(k.LastUsedAt)

	err := s.db.WithContext(ctx).Create(k).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("models: create key: %w", ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("models: create key: %w", err)
	}
	return nil
}

// checkKey refuses what one backend would store and the other reject (PostgreSQL
// text holds neither NUL nor invalid UTF-8), so both behave the same.
func checkKey(k *Key) error {
	if k.OwnerID == "" {
		return errors.New("owner id is empty")
	}
	if k.LookupID == "" {
		return errors.New("lookup id is empty")
	}
	if len(k.SecretHash) != 32 {
		return fmt.Errorf("secret hash is %d bytes, want 32", len(k.SecretHash))
	}
	for _, f := range []struct{ name, v string }{
		{"owner id", k.OwnerID}, {"owner username", k.OwnerUsername}, {"name", k.Name},
		{"description", k.Description}, {"lookup id", k.LookupID},
		{"environment", k.Environment}, {"scopes", k.Scopes},
	} {
		if !storable(f.v) {
			return fmt.Errorf("%s is not valid UTF-8 text", f.name)
		}
	}
	return nil
}

func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// canonicalID parses a UUID in any accepted spelling; ok is false for anything else,
// so bad input becomes ErrNotFound rather than a database error.
func canonicalID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// KeyByLookupID returns the live key with that public lookup id, or ErrNotFound.
func (s *Store) KeyByLookupID(ctx context.Context, lookupID string) (Key, error) {
	if lookupID == "" || !storable(lookupID) {
		return Key{}, fmt.Errorf("models: key by lookup id: %w", ErrNotFound)
	}
	var k Key
	err := s.db.WithContext(ctx).Where("lookup_id = ?", lookupID).Where(notDeleted).Take(&k).Error
	if err != nil {
		return Key{}, fmt.Errorf("models: key by lookup id: %w", notFound(err))
	}
	return normalized(k), nil
}

// KeyByID returns ownerID's live key id, or ErrNotFound (also for another owner's key
// and for an id that is not a UUID).
func (s *Store) KeyByID(ctx context.Context, ownerID, id string) (Key, error) {
	id, ok := canonicalID(id)
	if !ok || !storable(ownerID) {
		return Key{}, fmt.Errorf("models: key by id: %w", ErrNotFound)
	}
	var k Key
	err := s.db.WithContext(ctx).Where("id = ? AND owner_id = ?", id, ownerID).Where(notDeleted).Take(&k).Error
	if err != nil {
		return Key{}, fmt.Errorf("models: key by id: %w", notFound(err))
	}
	return normalized(k), nil
}

// ListKeys returns ownerID's live keys, newest first.
func (s *Store) ListKeys(ctx context.Context, ownerID string) ([]Key, error) {
	if !storable(ownerID) {
		return []Key{}, nil
	}
	keys := []Key{}
	err := s.db.WithContext(ctx).Where("owner_id = ?", ownerID).Where(notDeleted).
		Order("created_at DESC").Order("id DESC"). // id: a stable order for equal times
		Find(&keys).Error
	if err != nil {
		return nil, fmt.Errorf("models: list keys: %w", err)
	}
	for i := range keys {
		keys[i] = normalized(keys[i])
	}
	return keys, nil
}

// DeleteKey soft-deletes ownerID's key id at the given time. ErrNotFound if there is
// no such live key of that owner.
func (s *Store) DeleteKey(ctx context.Context, ownerID, id string, at time.Time) error {
	id, ok := canonicalID(id)
	if !ok || !storable(ownerID) {
		return fmt.Errorf("models: delete key: %w", ErrNotFound)
	}
	at = dbTime(at)
	res := s.db.WithContext(ctx).Model(&Key{}).
		Where("id = ? AND owner_id = ?", id, ownerID).Where(notDeleted).
		UpdateColumns(map[string]any{"deleted_at": at, "updated_at": at})
	if res.Error != nil {
		return fmt.Errorf("models: delete key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: delete key: %w", ErrNotFound)
	}
	return nil
}

// TouchLastUsed records when keys (by ID) were last used, in one transaction. A time
// older than the stored one is ignored: batches flushed out of order never move
// last_used_at backwards. Unknown ids are ignored.
func (s *Store) TouchLastUsed(ctx context.Context, lastUsed map[string]time.Time) error {
	latest := make(map[string]time.Time, len(lastUsed))
	for id, at := range lastUsed {
		if id, ok := canonicalID(id); ok && dbTime(at).After(latest[id]) {
			latest[id] = dbTime(at)
		}
	}
	if len(latest) == 0 {
		return nil
	}
	// One lock order for every batch, so that concurrent flushes cannot deadlock.
	ids := slices.Sorted(maps.Keys(latest))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, id := range ids {
			// UpdateColumns: a use is not a change of the key, so updated_at stays.
			err := tx.Model(&Key{}).
				Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, latest[id]).
				UpdateColumns(map[string]any{"last_used_at": latest[id]}).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("models: touch last used: %w", err)
	}
	return nil
}

// notFound maps gorm's not-found to ErrNotFound and keeps any other error.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// normalized gives times in UTC whatever the driver's session zone.
func normalized(k Key) Key {
	k.CreatedAt = k.CreatedAt.UTC()
	k.UpdatedAt = k.UpdatedAt.UTC()
	k.ExpiresAt = utcPtr(k.ExpiresAt)
	k.DeletedAt = utcPtr(k.DeletedAt)
	k.LastUsedAt = utcPtr(k.LastUsedAt)
	return k
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
