package models

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"gorm.io/gorm/clause"
)

// StoreSetting is one value the store keeps about itself: today the fingerprints of
// the secrets every replica must share (never the secrets).
type StoreSetting struct {
	Name  string `gorm:"primaryKey;size:64"`
	Value []byte `gorm:"not null"`
}

// TableName fixes the table name.
func (StoreSetting) TableName() string { return "store_settings" }

// Fingerprint names.
const (
	PepperFingerprint        = "pepper_fingerprint"
	EncryptionKeyFingerprint = "encryption_key_fingerprint"
)

// ErrFingerprintMismatch: the store was set up with another secret than this replica's.
var ErrFingerprintMismatch = errors.New("the store holds another fingerprint")

// ClaimFingerprint records fp under name if the store has none yet (the first replica
// to start sets it) and otherwise compares: ErrFingerprintMismatch when they differ.
func (s *Store) ClaimFingerprint(ctx context.Context, name string, fp []byte) error {
	db := s.db.WithContext(ctx)
	err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&StoreSetting{Name: name, Value: fp}).Error
	if err != nil {
		return fmt.Errorf("models: fingerprint %s: %w", name, err)
	}
	var stored StoreSetting
	if err := db.Where("name = ?", name).Take(&stored).Error; err != nil {
		return fmt.Errorf("models: fingerprint %s: %w", name, err)
	}
	if subtle.ConstantTimeCompare(stored.Value, fp) != 1 {
		return fmt.Errorf("models: fingerprint %s: %w", name, ErrFingerprintMismatch)
	}
	return nil
}
