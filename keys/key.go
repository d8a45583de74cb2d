package keys

import (
	"encoding/json"
	"time"

	"github.com/keyward/keyward/api"
)

// Key is a personal API key as the service hands it out: typed, with its status and its
// effective rate limit already decided, so that no caller decodes a stored column.
type Key struct {
	ID            string
	OwnerID       string // Keycloak user id; a consumer key's: models.ConsumerOwnerID
	OwnerUsername string // a consumer key's: the consumer's name
	// Consumer is the consumer a consumer key belongs to; nil for a user's key.
	Consumer    *Consumer
	Name        string
	Description string
	Prefix      string // the displayable public part
	Environment string // development | staging | production
	Scopes      []string
	Metadata    json.RawMessage // a JSON object, "{}" when empty
	Enabled     bool
	// Status is the key's state at the service's clock when it was read.
	Status      Status
	RateLimit   Limit
	IPAllowlist []string // CIDRs; empty allows every address
	AdminSet    AdminSet
	// OwnerDisabled: the owner is disabled in Keycloak.
	OwnerDisabled bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     *time.Time // nil: never expires
	LastUsedAt    *time.Time
	DeletedAt     *time.Time // revoked at; only AnyState hands out revoked keys
	LastUsedIP    string     // "" when never used
	// RotatedTo is the key that superseded this one; this one works until GraceUntil.
	RotatedTo  *string
	GraceUntil *time.Time
	// Roles limits the key to these of its owner's roles ("name", "client:name");
	// nil: not limited.
	Roles []string
}

// Status is a key's state as users see it.
type Status string

// The statuses of a key, in the order Status decides them; their names are the
// wire's (package api).
const (
	StatusOwnerDisabled Status = api.KeyOwnerDisabled
	StatusInactive      Status = api.KeyInactive
	StatusExpired       Status = api.KeyExpired
	StatusExpiringSoon  Status = api.KeyExpiringSoon
	StatusActive        Status = api.KeyActive
)

// Limit is a key's effective rate limit: Requests per WindowSeconds, or Unlimited.
type Limit struct {
	Requests      int
	WindowSeconds int
	Unlimited     bool
	// Own: the limit was set on the key (by its owner or an admin), not the server's
	// default; an own unlimited key is Unlimited and Own.
	Own bool
}

// AdminSet names the admin behind each decision the owner cannot undo; "" when the
// owner made it (or nobody did).
type AdminSet struct {
	Disabled    string
	RateLimit   string
	IPAllowlist string
}

// Any tells whether an admin made any of the decisions.
func (a AdminSet) Any() bool { return a != AdminSet{} }
