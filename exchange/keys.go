package exchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/models"
)

// Limits of key fields.
const (
	MaxNameLen         = 100
	MaxDescriptionLen  = 500
	DefaultExpiryDays  = 365
	MaxExpiryDays      = 3650
	DefaultEnvironment = "production"
)

var environments = map[string]string{"development": EnvTest, "staging": EnvTest, "production": EnvLive}

// Owner is the Keycloak user a key belongs to.
type Owner struct {
	ID       string
	Username string
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem of one request, so a caller fixes all at once.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, msg string) { e.Fields = append(e.Fields, FieldError{field, msg}) }

// KeyStore is the persistence the key lifecycle needs.
type KeyStore interface {
	KeyFinder
	CreateKey(ctx context.Context, k *models.Key) error
	KeyByID(ctx context.Context, ownerID, id string) (models.Key, error)
	ListKeys(ctx context.Context, ownerID string) ([]models.Key, error)
	DeleteKey(ctx context.Context, ownerID, id string, at time.Time) error
}

// Keys applies the key-lifecycle rules.
type Keys struct {
	store  KeyStore
	hasher *Hasher
	minter TokenMinter
	clock  func() time.Time
}

// NewKeys wires the key lifecycle.
func NewKeys(store KeyStore, hasher *Hasher, minter TokenMinter, clock func() time.Time) *Keys {
	if clock == nil {
		clock = time.Now
	}
	return &Keys{store: store, hasher: hasher, minter: minter, clock: clock}
}

// CreateKeyParams is a validated-by-Create request for a new key.
type CreateKeyParams struct {
	Name          string
	Description   string
	Environment   string
	ExpiresInDays *int
	NeverExpires  bool
}

// Created is a new key with its one-time plaintext.
type Created struct {
	Key       models.Key
	Plaintext string
}

// Create validates p, prepares the owner at Keycloak, then stores the key hash. If
// Keycloak fails nothing is written; a link made before a failed insert is harmless
// and reused next time.
func (k *Keys) Create(ctx context.Context, owner Owner, p CreateKeyParams) (Created, error) {
	now := k.clock().UTC()
	verr := &ValidationError{}
	name := strings.TrimSpace(p.Name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(p.Name):
		verr.add("name", "must be valid UTF-8")
	case n == 0:
		verr.add("name", "is required")
	case n > MaxNameLen:
		verr.add("name", fmt.Sprintf("must be at most %d characters", MaxNameLen))
	case hasControl(name):
		verr.add("name", "must not contain control characters")
	}
	switch {
	case !utf8.ValidString(p.Description):
		verr.add("description", "must be valid UTF-8")
	case utf8.RuneCountInString(p.Description) > MaxDescriptionLen:
		verr.add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLen))
	}
	env := p.Environment
	if env == "" {
		env = DefaultEnvironment
	}
	keyEnv, ok := environments[env]
	if !ok {
		verr.add("environment", "must be one of development, staging, production")
	}
	var expiresAt *time.Time
	switch {
	case p.NeverExpires && p.ExpiresInDays != nil:
		verr.add("expires_in_days", "give either expires_in_days or never_expires, not both")
	case p.NeverExpires:
	case p.ExpiresInDays != nil && (*p.ExpiresInDays < 1 || *p.ExpiresInDays > MaxExpiryDays):
		verr.add("expires_in_days", fmt.Sprintf("must be between 1 and %d", MaxExpiryDays))
	default:
		days := DefaultExpiryDays
		if p.ExpiresInDays != nil {
			days = *p.ExpiresInDays
		}
		t := now.AddDate(0, 0, days)
		expiresAt = &t
	}
	if len(verr.Fields) > 0 {
		return Created{}, verr
	}

	if err := k.minter.Prepare(ctx, owner); err != nil {
		return Created{}, err
	}
	parsed, err := GenerateKey(keyEnv)
	if err != nil {
		return Created{}, err
	}
	row := models.Key{
		OwnerID:       owner.ID,
		OwnerUsername: owner.Username,
		Name:          name,
		Description:   p.Description,
		LookupID:      parsed.LookupID,
		SecretHash:    k.hasher.Hash(parsed.Secret),
		Environment:   env,
		Enabled:       true,
		CreatedAt:     now,
		UpdatedAt:     now,
		ExpiresAt:     expiresAt,
	}
	if err := k.store.CreateKey(ctx, &row); err != nil {
		return Created{}, fmt.Errorf("store key: %w", err)
	}
	return Created{Key: row, Plaintext: parsed.String()}, nil
}

// List returns the owner's keys.
func (k *Keys) List(ctx context.Context, ownerID string) ([]models.Key, error) {
	return k.store.ListKeys(ctx, ownerID)
}

// Delete revokes the owner's key: from this moment the exchange refuses it.
func (k *Keys) Delete(ctx context.Context, ownerID, id string) error {
	err := k.store.DeleteKey(ctx, ownerID, id, k.clock().UTC())
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("delete key: %w", err)
	}
	return err
}

// Prefix is the displayable public part of a stored key.
func Prefix(k models.Key) string {
	return ParsedKey{Env: environments[k.Environment], LookupID: k.LookupID}.Prefix()
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// ExpiringSoonWindow is how close to expiry a key is reported as expiring_soon.
const ExpiringSoonWindow = 7 * 24 * time.Hour

// Status is the key's state as users see it at now.
func Status(k models.Key, now time.Time) string {
	switch {
	case !k.Enabled:
		return "inactive"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	case k.ExpiresAt != nil && k.ExpiresAt.Sub(now) <= ExpiringSoonWindow:
		return "expiring_soon"
	}
	return "active"
}
