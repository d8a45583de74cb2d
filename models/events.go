package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EventCursor is how far the follower of one Keycloak event feed has got: the time of
// the newest event it handled and the ids of the events it handled since a little
// before it, so that a restart neither misses an event of that instant nor repeats one.
type EventCursor struct {
	Feed       string `gorm:"primaryKey;size:64"`
	TimeMillis int64  `gorm:"not null"`
	HandledIDs string `gorm:"not null"` // JSON array of event ids
	UpdatedAt  time.Time
}

// TableName fixes the table name.
func (EventCursor) TableName() string { return "event_cursors" }

// Cursor is an EventCursor as the follower uses it.
type Cursor struct {
	TimeMillis int64
	Handled    []string
}

// EventCursor returns the feed's cursor; the zero Cursor and ok false when none is stored.
func (s *Store) EventCursor(ctx context.Context, feed string) (Cursor, bool, error) {
	var row EventCursor
	err := s.db.WithContext(ctx).Where("feed = ?", feed).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Cursor{}, false, nil
	}
	if err != nil {
		return Cursor{}, false, fmt.Errorf("models: event cursor: %w", err)
	}
	c := Cursor{TimeMillis: row.TimeMillis}
	if err := json.Unmarshal([]byte(row.HandledIDs), &c.Handled); err != nil {
		return Cursor{}, false, fmt.Errorf("models: event cursor %s: handled ids: %w", feed, err)
	}
	return c, true, nil
}

// SaveEventCursor stores the feed's cursor.
func (s *Store) SaveEventCursor(ctx context.Context, feed string, c Cursor) error {
	ids := c.Handled
	if ids == nil {
		ids = []string{}
	}
	raw, _ := json.Marshal(ids)
	row := EventCursor{Feed: feed, TimeMillis: c.TimeMillis, HandledIDs: string(raw), UpdatedAt: dbTime(time.Now())}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "feed"}},
		DoUpdates: clause.AssignmentColumns([]string{"time_millis", "handled_ids", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("models: save event cursor: %w", err)
	}
	return nil
}

// Lease says which replica does a job that only one may do at a time, until when.
type Lease struct {
	Name      string    `gorm:"primaryKey;size:64"`
	Holder    string    `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null"`
}

// TableName fixes the table name.
func (Lease) TableName() string { return "leases" }

// AcquireLease takes or renews the lease name for holder until now+ttl, and says
// whether holder has it: it does when nobody held it, when holder held it, or when
// the other holder's lease had expired. The compare-and-set is one conditional UPDATE,
// so of replicas racing for an expired lease exactly one wins.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	until := dbTime(now.Add(ttl))
	db := s.db.WithContext(ctx)
	err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Lease{Name: name, Holder: holder, ExpiresAt: until}).Error
	if err != nil {
		return false, fmt.Errorf("models: acquire lease: %w", err)
	}
	res := db.Model(&Lease{}).Where("name = ? AND (holder = ? OR expires_at <= ?)", name, holder, dbTime(now)).
		UpdateColumns(map[string]any{"holder": holder, "expires_at": until})
	if res.Error != nil {
		return false, fmt.Errorf("models: acquire lease: %w", res.Error)
	}
	// 0 rows: another holder's lease that has not expired.
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives the lease up if holder has it, so another replica takes over at once.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.db.WithContext(ctx).Where("name = ? AND holder = ?", name, holder).Delete(&Lease{}).Error
	if err != nil {
		return fmt.Errorf("models: release lease: %w", err)
	}
	return nil
}

// DeleteKeysOfOwner soft-deletes every live key of ownerID at at, in one transaction,
// and returns the keys it deleted (none: an empty slice).
func (s *Store) DeleteKeysOfOwner(ctx context.Context, ownerID string, at time.Time) ([]Key, error) {
	at = dbTime(at)
	keys, err := s.updateKeysOfOwner(ctx, ownerID, func(q *gorm.DB) *gorm.DB { return q },
		map[string]any{"deleted_at": at, "updated_at": at})
	if err != nil {
		return nil, fmt.Errorf("models: delete keys of owner: %w", err)
	}
	for i := range keys {
		keys[i].DeletedAt = &at
	}
	return keys, nil
}

// SetOwnerDisabled marks every live key of ownerID as its owner being disabled (or
// not) and returns the keys whose mark changed.
func (s *Store) SetOwnerDisabled(ctx context.Context, ownerID string, disabled bool) ([]Key, error) {
	keys, err := s.updateKeysOfOwner(ctx, ownerID, func(q *gorm.DB) *gorm.DB { return q.Where("owner_disabled = ?", !disabled) },
		map[string]any{"owner_disabled": disabled, "updated_at": dbTime(time.Now())})
	if err != nil {
		return nil, fmt.Errorf("models: set owner disabled: %w", err)
	}
	for i := range keys {
		keys[i].OwnerDisabled = disabled
	}
	return keys, nil
}

// updateKeysOfOwner sets cols on the live keys of ownerID that where selects, locked in
// one transaction, and returns them as they were read (normalized); never nil.
func (s *Store) updateKeysOfOwner(ctx context.Context, ownerID string, where func(*gorm.DB) *gorm.DB, cols map[string]any) ([]Key, error) {
	keys := []Key{}
	if ownerID == "" || !storable(ownerID) {
		return keys, nil
	}
	ctx, w := writingKeys(ctx)
	defer s.announceWrite(w)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := where(tx.Where("owner_id = ?", ownerID).Where(notDeleted))
		if err := q.Clauses(clause.Locking{Strength: "UPDATE"}).Find(&keys).Error; err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		ids := make([]string, len(keys))
		for i, k := range keys {
			ids[i] = k.ID
			w.name(k.LookupID)
		}
		return tx.Model(&Key{}).Where("id IN ?", ids).UpdateColumns(cols).Error
	})
	if err != nil {
		return nil, err
	}
	for i := range keys {
		keys[i] = normalized(keys[i])
	}
	return keys, nil
}

// LiveKeysOfOwner returns every live key of ownerID.
func (s *Store) LiveKeysOfOwner(ctx context.Context, ownerID string) ([]Key, error) {
	keys := []Key{}
	if ownerID == "" || !storable(ownerID) {
		return keys, nil
	}
	if err := s.db.WithContext(ctx).Where("owner_id = ?", ownerID).Where(notDeleted).Order("id").Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("models: keys of owner: %w", err)
	}
	for i := range keys {
		keys[i] = normalized(keys[i])
	}
	return keys, nil
}
