package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ConsoleSession is a web-console session, or a login in progress (Pending). The row
// is keyed by a hash of the session id, never the id itself; Tokens and LoginState are
// sealed by the console (AES-GCM) before they reach the store.
type ConsoleSession struct {
	IDHash     string `gorm:"primaryKey;size:64"` // hex SHA-256 of the cookie's session id
	Pending    bool   `gorm:"not null"`           // a login waiting for Keycloak's callback
	Subject    string `gorm:"not null;default:''"`
	Username   string `gorm:"not null;default:''"`
	LoginState []byte // sealed state, nonce, PKCE verifier and return path (pending only)
	Tokens     []byte // sealed Keycloak tokens (logged-in only)
	// AccessExpiresAt is when the stored access token expires; RefreshedAt when the
	// console last asked Keycloak (login or refresh).
	AccessExpiresAt time.Time `gorm:"not null"`
	RefreshedAt     time.Time `gorm:"not null"`
	CreatedAt       time.Time `gorm:"not null"`
	LastSeenAt      time.Time `gorm:"not null"`
	// ExpiresAt is the absolute end of the session; idle ends come from LastSeenAt.
	ExpiresAt time.Time `gorm:"not null;index:idx_console_sessions_expires_at"`
}

// TableName fixes the table name.
func (ConsoleSession) TableName() string { return "console_sessions" }

// CreateConsoleSession stores a new session and drops sessions whose absolute end has
// passed (the table never grows with abandoned logins).
func (s *Store) CreateConsoleSession(ctx context.Context, cs *ConsoleSession) error {
	s.fixSessionTimes(cs)
	if err := s.db.WithContext(ctx).Where("expires_at < ?", dbTime(time.Now())).Delete(&ConsoleSession{}).Error; err != nil {
		return fmt.Errorf("models: sweep console sessions: %w", err)
	}
	err := s.db.WithContext(ctx).Create(cs).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("models: create console session: %w", ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("models: create console session: %w", err)
	}
	return nil
}

// ConsoleSessionByHash returns the session whose id hashes to idHash: ErrNotFound
// when there is none.
func (s *Store) ConsoleSessionByHash(ctx context.Context, idHash string) (ConsoleSession, error) {
	var cs ConsoleSession
	if !storable(idHash) {
		return cs, fmt.Errorf("models: console session: %w", ErrNotFound)
	}
	err := s.db.WithContext(ctx).Where("id_hash = ?", idHash).Take(&cs).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return cs, fmt.Errorf("models: console session: %w", ErrNotFound)
	}
	if err != nil {
		return cs, fmt.Errorf("models: console session: %w", err)
	}
	for _, t := range []*time.Time{&cs.AccessExpiresAt, &cs.RefreshedAt, &cs.CreatedAt, &cs.LastSeenAt, &cs.ExpiresAt} {
		*t = t.UTC()
	}
	return cs, nil
}

// UpdateConsoleSession writes the session's tokens and times (a refresh, a page seen).
func (s *Store) UpdateConsoleSession(ctx context.Context, cs *ConsoleSession) error {
	s.fixSessionTimes(cs)
	res := s.db.WithContext(ctx).Model(&ConsoleSession{}).Where("id_hash = ?", cs.IDHash).UpdateColumns(map[string]any{
		"tokens": cs.Tokens, "access_expires_at": cs.AccessExpiresAt, "refreshed_at": cs.RefreshedAt,
		"last_seen_at": cs.LastSeenAt,
	})
	if res.Error != nil {
		return fmt.Errorf("models: update console session: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: update console session: %w", ErrNotFound)
	}
	return nil
}

// DeleteConsoleSession removes a session; removing one that is gone is no error.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash string) error {
	if err := s.db.WithContext(ctx).Where("id_hash = ?", idHash).Delete(&ConsoleSession{}).Error; err != nil {
		return fmt.Errorf("models: delete console session: %w", err)
	}
	return nil
}

func (s *Store) fixSessionTimes(cs *ConsoleSession) {
	for _, t := range []*time.Time{&cs.AccessExpiresAt, &cs.RefreshedAt, &cs.CreatedAt, &cs.LastSeenAt, &cs.ExpiresAt} {
		*t = dbTime(*t)
	}
}
