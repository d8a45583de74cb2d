package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// KeyReminder is one reminder about a key's expiry ("30d", "7d", "1d", "expired").
// The row is inserted before anything is sent: its unique (key_id, kind) makes each
// reminder happen once across restarts and replicas. SentAt stays nil until the mail
// went out (or there was nothing to send), so that a failed mail is retried, by one
// replica at a time (ClaimReminderRetry), and never sent twice.
type KeyReminder struct {
	KeyID     string    `gorm:"primaryKey;size:36"`
	Kind      string    `gorm:"primaryKey;size:16"`
	ClaimedAt time.Time `gorm:"not null;index:idx_key_reminders_pending"`
	SentAt    *time.Time
	Attempts  int    `gorm:"not null;default:0"`
	LastError string `gorm:"not null;default:''"` // no secret: the mail library's error class
}

// TableName fixes the table name.
func (KeyReminder) TableName() string { return "key_reminders" }

// KeysDue returns up to limit live, enabled, not superseded keys whose expiry lies in
// (from, to] and that have no reminder of kind yet, soonest first.
func (s *Store) KeysDue(ctx context.Context, kind string, from, to time.Time, limit int) ([]Key, error) {
	keys := []Key{}
	err := s.db.WithContext(ctx).Model(&Key{}).Where(notDeleted).
		Where("enabled = ? AND rotated_to IS NULL AND expires_at > ? AND expires_at <= ?", true, dbTime(from), dbTime(to)).
		Where("NOT EXISTS (SELECT 1 FROM key_reminders r WHERE r.key_id = api_keys.id AND r.kind = ?)", kind).
		Order("expires_at").Order("id").Limit(limit).Find(&keys).Error
	if err != nil {
		return nil, fmt.Errorf("models: keys due a reminder: %w", err)
	}
	for i := range keys {
		keys[i] = normalized(keys[i])
	}
	return keys, nil
}

// ClaimReminder inserts the reminder (keyID, kind) and says whether this call made
// it: false when it exists already, whoever made it.
func (s *Store) ClaimReminder(ctx context.Context, keyID, kind string, now time.Time) (bool, error) {
	err := s.db.WithContext(ctx).Create(&KeyReminder{KeyID: keyID, Kind: kind, ClaimedAt: dbTime(now), Attempts: 1}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("models: claim reminder: %w", err)
	}
	return true, nil
}

// ReminderSent marks the reminder as done.
func (s *Store) ReminderSent(ctx context.Context, keyID, kind string, at time.Time) error {
	err := s.db.WithContext(ctx).Model(&KeyReminder{}).Where("key_id = ? AND kind = ?", keyID, kind).
		UpdateColumns(map[string]any{"sent_at": dbTime(at), "last_error": ""}).Error
	if err != nil {
		return fmt.Errorf("models: reminder sent: %w", err)
	}
	return nil
}

// ReminderFailed records why the mail of a reminder did not go out.
func (s *Store) ReminderFailed(ctx context.Context, keyID, kind, why string) error {
	err := s.db.WithContext(ctx).Model(&KeyReminder{}).Where("key_id = ? AND kind = ?", keyID, kind).
		UpdateColumn("last_error", why).Error
	if err != nil {
		return fmt.Errorf("models: reminder failed: %w", err)
	}
	return nil
}

// PendingReminders returns up to limit reminders whose mail has not gone out, claimed
// before claimedBefore, with fewer than maxAttempts attempts.
func (s *Store) PendingReminders(ctx context.Context, claimedBefore time.Time, maxAttempts, limit int) ([]KeyReminder, error) {
	var rows []KeyReminder
	err := s.db.WithContext(ctx).Where("sent_at IS NULL AND claimed_at <= ? AND attempts < ?", dbTime(claimedBefore), maxAttempts).
		Order("claimed_at").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: pending reminders: %w", err)
	}
	return rows, nil
}

// ClaimReminderRetry takes a pending reminder for one more attempt, and says whether
// this call got it: a compare-and-set on its attempt count, so that of replicas
// retrying the same reminder one sends.
func (s *Store) ClaimReminderRetry(ctx context.Context, r KeyReminder, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&KeyReminder{}).
		Where("key_id = ? AND kind = ? AND sent_at IS NULL AND attempts = ?", r.KeyID, r.Kind, r.Attempts).
		UpdateColumns(map[string]any{"attempts": r.Attempts + 1, "claimed_at": dbTime(now)})
	if res.Error != nil {
		return false, fmt.Errorf("models: claim reminder retry: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// KeyByIDAnyState returns the key id, live or deleted (reminders name deleted keys
// only to skip them).
func (s *Store) KeyByIDAnyState(ctx context.Context, id string) (Key, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Key{}, fmt.Errorf("models: key: %w", ErrNotFound)
	}
	var k Key
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return Key{}, fmt.Errorf("models: key: %w", notFound(err))
	}
	return normalized(k), nil
}
