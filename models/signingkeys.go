package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SigningKey is one of Keyward's assertion-signing keys, shared by every replica. The
// private key is stored sealed under the encryption key (internal/sealbox), never in
// clear. A key is published in the JWKS from CreatedAt on, signs from ActiveFrom until
// the next key's ActiveFrom, and stays published a while after (exchange.KeyRing).
type SigningKey struct {
	KID        string    `gorm:"column:kid;primaryKey;size:64"` // the JWK thumbprint
	Sealed     []byte    `gorm:"not null"`                      // PKCS#8 DER, sealed
	CreatedAt  time.Time `gorm:"not null"`
	ActiveFrom time.Time `gorm:"not null;index"`
}

// TableName fixes the table name.
func (SigningKey) TableName() string { return "signing_keys" }

// SigningKeys returns every signing key, by ActiveFrom.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var out []SigningKey
	if err := s.db.WithContext(ctx).Order("active_from ASC").Order("kid ASC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: signing keys: %w", err)
	}
	for i := range out {
		out[i].CreatedAt, out[i].ActiveFrom = out[i].CreatedAt.UTC(), out[i].ActiveFrom.UTC()
	}
	return out, nil
}

// AddSigningKey stores k unless a key already active from after `unlessAfter` exists
// (zero unlessAfter: unless any key exists), in one transaction that excludes other
// replicas' adds, so that of replicas scheduling the same rotation one wins. added
// tells whether k was stored.
func (s *Store) AddSigningKey(ctx context.Context, k SigningKey, unlessAfter time.Time) (added bool, err error) {
	k.CreatedAt, k.ActiveFrom = dbTime(k.CreatedAt), dbTime(k.ActiveFrom)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.backend == backendPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('keyward:signing_keys'))").Error; err != nil {
				return err
			}
		}
		q := tx.Model(&SigningKey{})
		if !unlessAfter.IsZero() {
			q = q.Where("active_from > ?", dbTime(unlessAfter))
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := tx.Create(&k).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrAlreadyExists
			}
			return err
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("models: add signing key: %w", err)
	}
	return added, nil
}

// ActivateSigningKeyBy brings the key kid forward to sign from `by` if it was to start
// later; it never delays a key. ErrNotFound for an unknown kid.
func (s *Store) ActivateSigningKeyBy(ctx context.Context, kid string, by time.Time) error {
	res := s.db.WithContext(ctx).Model(&SigningKey{}).Where("kid = ?", kid).
		Update("active_from", gorm.Expr("CASE WHEN active_from > ? THEN ? ELSE active_from END", dbTime(by), dbTime(by)))
	if res.Error != nil {
		return fmt.Errorf("models: activate signing key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: activate signing key: %w", ErrNotFound)
	}
	return nil
}

// DeleteSigningKey removes a key no longer published.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := s.db.WithContext(ctx).Where("kid = ?", kid).Delete(&SigningKey{}).Error; err != nil {
		return fmt.Errorf("models: delete signing key: %w", err)
	}
	return nil
}
