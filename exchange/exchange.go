// Package exchange is Keyward's domain core: the API key format, the verification
// pipeline that turns a presented key into a Keycloak-issued token, the token minting
// strategy, and the key-management rules. It knows nothing of HTTP or SQL.
package exchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Outcome is the result of one exchange, for the answer, logs, metrics and usage.
type Outcome string

// Outcomes. Every refusal of a key maps to one answer outside (401 invalid_grant), so
// that a caller cannot tell an unknown key from an expired one; the distinction is kept
// for logs and usage.
const (
	OutcomeIssued       Outcome = "issued"
	OutcomeMalformed    Outcome = "malformed"
	OutcomeUnknownKey   Outcome = "unknown_key"
	OutcomeExpired      Outcome = "expired"
	OutcomeInactive     Outcome = "inactive"
	OutcomeUserRefused  Outcome = "user_refused"
	OutcomeInvalidScope Outcome = "invalid_scope"
	OutcomeUnavailable  Outcome = "unavailable"
	OutcomeError        Outcome = "error"
)

// Request is what the caller presented.
type Request struct {
	APIKey string
	Scope  string // optional, space-separated; may narrow the key's scopes
}

// Result carries the token on success. Err is internal detail for logs only.
type Result struct {
	Outcome Outcome
	KeyID   string
	Token   keycloak.Token
	Err     error
}

// KeyFinder looks keys up by their public part.
type KeyFinder interface {
	KeyByLookupID(ctx context.Context, lookupID string) (models.Key, error)
}

// TokenMinter obtains a token issued by Keycloak for a key's owner: the one place that
// knows which Keycloak mechanism is used.
type TokenMinter interface {
	// Prepare runs when a key is created for owner (e.g. linking the user).
	Prepare(ctx context.Context, owner Owner) error
	// Mint asks Keycloak for the owner's token with the given scope.
	Mint(ctx context.Context, ownerID, scope string) (keycloak.Token, error)
}

// Exchanger verifies presented keys and mints tokens for them.
type Exchanger struct {
	keys     KeyFinder
	hasher   *Hasher
	minter   TokenMinter
	lastUsed *LastUsed
	clock    func() time.Time
}

// NewExchanger wires the verification pipeline; lastUsed may be nil.
func NewExchanger(keys KeyFinder, hasher *Hasher, minter TokenMinter, lastUsed *LastUsed, clock func() time.Time) *Exchanger {
	if clock == nil {
		clock = time.Now
	}
	return &Exchanger{keys: keys, hasher: hasher, minter: minter, lastUsed: lastUsed, clock: clock}
}

// Exchange runs the pipeline: parse and checksum (no I/O), look-up, constant-time hash
// comparison, state checks, then the Keycloak grant.
func (e *Exchanger) Exchange(ctx context.Context, req Request) Result {
	parsed, err := ParseKey(req.APIKey)
	if err != nil {
		return Result{Outcome: OutcomeMalformed}
	}
	key, err := e.keys.KeyByLookupID(ctx, parsed.LookupID)
	if errors.Is(err, models.ErrNotFound) {
		return Result{Outcome: OutcomeUnknownKey}
	}
	if err != nil {
		return Result{Outcome: OutcomeUnavailable, Err: fmt.Errorf("look up key: %w", err)}
	}
	if !e.hasher.Matches(parsed.Secret, key.SecretHash) || key.DeletedAt != nil {
		return Result{Outcome: OutcomeUnknownKey}
	}
	res := Result{KeyID: key.ID}
	switch {
	case !key.Enabled:
		res.Outcome = OutcomeInactive
		return res
	case key.ExpiresAt != nil && !e.clock().Before(*key.ExpiresAt):
		res.Outcome = OutcomeExpired
		return res
	}
	scope, ok := narrowScope(key.Scopes, req.Scope)
	if !ok {
		res.Outcome = OutcomeInvalidScope
		return res
	}
	tok, err := e.minter.Mint(ctx, key.OwnerID, scope)
	switch {
	case err == nil:
		res.Outcome, res.Token = OutcomeIssued, tok
		e.lastUsed.Touch(key.ID, e.clock())
	case errors.Is(err, keycloak.ErrInvalidGrant):
		res.Outcome, res.Err = OutcomeUserRefused, err
	case errors.Is(err, keycloak.ErrInvalidScope):
		res.Outcome, res.Err = OutcomeInvalidScope, err
	case errors.Is(err, keycloak.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		res.Outcome, res.Err = OutcomeUnavailable, err
	default:
		res.Outcome, res.Err = OutcomeError, err
	}
	return res
}

// narrowScope returns the scope to request: the key's scopes, or the requested subset
// of them. A request may narrow, never widen; ok is false when it tries.
func narrowScope(keyScopes, requested string) (string, bool) {
	allowed := strings.Fields(keyScopes)
	want := strings.Fields(requested)
	if len(want) == 0 {
		return strings.Join(allowed, " "), true
	}
	for _, w := range want {
		found := false
		for _, a := range allowed {
			if a == w {
				found = true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	return strings.Join(want, " "), true
}
