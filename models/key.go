package models

import (
	"strings"
	"time"
)

// Key is a personal API key. Only the HMAC of its secret is stored.
type Key struct {
	ID            string `gorm:"primaryKey;size:36"`
	OwnerID       string `gorm:"not null;index:idx_api_keys_owner_id"` // Keycloak user id
	OwnerUsername string `gorm:"not null"`
	// Name is unique per owner among live, not superseded keys: the partial index
	// idx_api_keys_owner_live_name, made by Open (gorm tags cannot say it on both backends).
	Name        string `gorm:"not null"`
	Description string `gorm:"not null"`
	// LookupID is the public part of the key, used to find it; never reused,
	// even after a soft delete, so the unique index covers deleted rows too.
	LookupID    string `gorm:"not null;uniqueIndex:idx_api_keys_lookup_id"`
	SecretHash  []byte `gorm:"not null"` // HMAC-SHA-256 of the secret: never logged
	Environment string `gorm:"not null"` // development | staging | production
	Scopes      string `gorm:"not null"` // space-separated
	// No default tag: gorm would then skip an explicit false on insert.
	Enabled bool `gorm:"not null"`
	// Metadata is a JSON object, "{}" when empty. The default fills rows that
	// existed before the column did.
	Metadata   string     `gorm:"not null;default:'{}'"`
	CreatedAt  time.Time  `gorm:"not null"`
	UpdatedAt  time.Time  `gorm:"not null"`
	ExpiresAt  *time.Time // nil: never expires
	DeletedAt  *time.Time // soft delete; every read filters it out
	LastUsedAt *time.Time
	// RotatedTo is the id of the key that superseded this one (RotateKey); the old
	// key keeps working until GraceUntil, which also caps its ExpiresAt.
	RotatedTo  *string `gorm:"size:36"`
	GraceUntil *time.Time
	// LastUsedIP is the client address of the last successful exchange.
	LastUsedIP string `gorm:"not null;default:''"`
	// Rate limit: RateLimitRequests per RateLimitWindowSeconds. 0/0 means the
	// configured default; RateLimitRequests < 0 means unlimited.
	RateLimitRequests      int `gorm:"not null;default:0"`
	RateLimitWindowSeconds int `gorm:"not null;default:0"`
	// IPAllowlist is a space-separated list of CIDRs; empty allows every address.
	IPAllowlist string `gorm:"not null;default:''"`
	// Admin decisions the owner cannot undo: the username of the admin who disabled
	// the key, set its rate limit or its IP allowlist on the owner's behalf; "" when
	// the owner did (or nobody).
	DisabledBy     string `gorm:"not null;default:''"`
	LimitSetBy     string `gorm:"not null;default:''"`
	AllowlistSetBy string `gorm:"not null;default:''"`
	// OwnerDisabled: the owner is disabled in Keycloak (followed from its events); the
	// key cannot be exchanged and shows so until the owner is enabled again.
	OwnerDisabled bool `gorm:"not null;default:false"`
	// Roles limits the key to some of its owner's roles (KeyRoles decodes it); ""
	// means not limited, which rows from before the column are.
	Roles string `gorm:"not null;default:''"`
	// OwnerType says whose the key is: OwnerUser (a Keycloak user, OwnerID) or
	// OwnerConsumer (ConsumerID; OwnerID is then ConsumerOwnerID(ConsumerID), which no
	// user id can equal, so every per-owner rule keeps consumer keys apart). Rows made
	// before the column are users'.
	OwnerType  string `gorm:"not null;default:'user'"`
	ConsumerID string `gorm:"not null;default:'';index:idx_api_keys_consumer_id"`
}

// TableName fixes the table name so that renaming the type never migrates data.
func (Key) TableName() string { return "api_keys" }

// Position is k's keyset position in a list of keys sorted by sort ("name",
// "expires_at", "last_used_at", or else created_at): what After takes to go on after k.
func (k Key) Position(sort string) ListPosition {
	p := ListPosition{ID: k.ID}
	var v *time.Time
	switch sort {
	case "name":
		p.Text = k.Name
		return p
	case "expires_at":
		v = k.ExpiresAt
	case "last_used_at":
		v = k.LastUsedAt
	default:
		v = &k.CreatedAt
	}
	if v == nil {
		p.Null = true
	} else {
		p.At = *v
	}
	return p
}

// The encodings of a key's columns, owned here; keys maps them to its domain value and
// the exchange reads the limit through OwnLimit.

// unlimitedRequests is the RateLimitRequests of a key set to unlimited.
const unlimitedRequests = -1

// Words decodes a space-separated column (Scopes, IPAllowlist); never nil.
func Words(column string) []string {
	w := strings.Fields(column)
	if w == nil {
		return []string{}
	}
	return w
}

// JoinWords encodes a list as a space-separated column.
func JoinWords(list []string) string { return strings.Join(list, " ") }

// OwnLimit decodes the stored rate-limit pair: set is false for 0/0, where the
// configured default applies; a set limit is unlimited, or requests per windowSeconds.
func (k Key) OwnLimit() (requests, windowSeconds int, unlimited, set bool) {
	switch {
	case k.RateLimitRequests < 0:
		return 0, 0, true, true
	case k.RateLimitRequests > 0 && k.RateLimitWindowSeconds > 0:
		return k.RateLimitRequests, k.RateLimitWindowSeconds, false, true
	}
	return 0, 0, false, false
}

// LimitColumns encodes a key's own limit as the stored pair; set false is the
// configured default (0/0).
func LimitColumns(requests, windowSeconds int, unlimited, set bool) (int, int) {
	switch {
	case !set:
		return 0, 0
	case unlimited:
		return unlimitedRequests, 0
	}
	return requests, windowSeconds
}
