// Package keys is the key lifecycle: create, get, list, update, rotate, revoke and
// usage reports of personal API keys, and the rules of who may do what to which key
// (owners, admins acting for them, the denylist, ceilings, decisions that stick). It
// hands out Key values, whose status and effective limit it decides (row.go maps the
// stored rows); it knows no HTTP and no SQL; the key format and the exchange live in
// exchange.
package keys

import (
	"context"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Limits and defaults of the key lifecycle.
const (
	// The bounds of the wire (name, description, metadata, expiry, grace, …) are
	// package api's: the Go client needs them without this package's dependencies.
	DefaultExpiryDays  = 365
	MaxExpiry          = api.KeyExpiryDaysMax * 24 * time.Hour
	DefaultEnvironment = "production"
	DefaultGraceHours  = 168
	// ExpiringSoonWindow is how close to expiry a key is reported as expiring_soon.
	ExpiringSoonWindow = 7 * 24 * time.Hour
)

// ErrForbidden: the caller may not do this (e.g. act for another owner without being admin).
var ErrForbidden = errs.New(errs.Forbidden, "the caller may not do this")

// ErrLimit: a configured ceiling would be passed (live keys per user).
var ErrLimit = errs.New(errs.Conflict, "a configured limit is reached")

// Store is the persistence the key lifecycle needs.
type Store interface {
	CreateKeyCapped(ctx context.Context, k *models.Key, maxLive int, now time.Time) error
	KeyByID(ctx context.Context, ownerID, id string) (models.Key, error)
	ListKeys(ctx context.Context, f models.KeyFilter) ([]models.Key, error)
	UpdateKey(ctx context.Context, ownerID, id string, fn func(k *models.Key) error) (models.Key, error)
	RotateKey(ctx context.Context, ownerID, oldID string, newKey *models.Key, graceUntil time.Time) (models.Key, error)
	DeleteKey(ctx context.Context, ownerID, id string, at time.Time) error
	// What Keycloak's events do to an owner's keys (owner.go).
	DeleteKeysOfOwner(ctx context.Context, ownerID string, at time.Time) ([]models.Key, error)
	SetOwnerDisabled(ctx context.Context, ownerID string, disabled bool) ([]models.Key, error)
	LiveKeysOfOwner(ctx context.Context, ownerID string) ([]models.Key, error)
	RenameKeysOfOwner(ctx context.Context, ownerID, username string) error
	// What the reminder job reads (due.go).
	KeysDue(ctx context.Context, kind string, from, to time.Time, limit int) ([]models.Key, error)
	KeyByIDAnyState(ctx context.Context, id string) (models.Key, error)
}

// UserDirectory resolves the `owner` an admin names.
type UserDirectory interface {
	FindUser(ctx context.Context, idOrUsername string) (keycloak.User, error)
}

// RoleReader reads a user's effective roles (composites and groups included).
type RoleReader interface {
	EffectiveRoles(ctx context.Context, userID string, clientIDs []string) (keycloak.Roles, error)
}

// UsageReader reads flushed usage counters.
type UsageReader interface {
	UsageByKey(ctx context.Context, keyID, sinceDay string) ([]models.UsageCount, error)
}

// Config wires the key lifecycle; Store, Hasher and Minter are required.
type Config struct {
	Store  Store
	Hasher *exchange.Hasher
	Minter exchange.TokenMinter
	Users  UserDirectory // resolves `owner` for admins
	Roles  RoleReader    // checks the users admins act for against Deny
	// RoleLimits makes keys limited to roles possible (roles.go); nil: refused.
	RoleLimits RoleLimits
	Deny       exchange.RoleDenylist
	Audit      *audit.Recorder
	Limits     exchange.LimitPolicy
	// MaxKeysPerUser bounds a user's live keys (default 50).
	MaxKeysPerUser int
	// OwnerMaxRate is the highest rate an owner may set on their own key; admins may
	// set more. Zero: no ceiling.
	OwnerMaxRate ratelimit.Limit
	Cache        *exchange.TokenCache // dropped for a key whenever the key changes
	Usage        UsageReader
	Clock        func() time.Time
}

// Service applies the key-lifecycle rules.
type Service struct {
	store      Store
	hasher     *exchange.Hasher
	minter     exchange.TokenMinter
	users      UserDirectory
	roles      RoleReader
	roleLimits RoleLimits
	deny       exchange.RoleDenylist
	audit      *audit.Recorder
	limits     exchange.LimitPolicy
	maxKeys    int
	maxRate    ratelimit.Limit
	cache      *exchange.TokenCache
	usage      UsageReader
	clock      func() time.Time
	// consumers resolves consumer keys' consumers (consumers.go); nil: none.
	consumers ConsumerDirectory
}

// New wires the key lifecycle.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxKeysPerUser <= 0 {
		cfg.MaxKeysPerUser = DefaultMaxKeysPerUser
	}
	return &Service{store: cfg.Store, hasher: cfg.Hasher, minter: cfg.Minter, users: cfg.Users, roles: cfg.Roles, roleLimits: cfg.RoleLimits,
		deny: cfg.Deny, audit: cfg.Audit, limits: cfg.Limits, maxKeys: cfg.MaxKeysPerUser, maxRate: cfg.OwnerMaxRate,
		cache: cfg.Cache, usage: cfg.Usage, clock: cfg.Clock}
}
