// Package keys is the key lifecycle: create, get, list, update, rotate, revoke and
// usage reports of personal API keys, and the rules of who may do what to which key
// (owners, admins acting for them, the denylist, ceilings, decisions that stick). It
// knows no HTTP and no SQL; the key format and the exchange live in exchange.
package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Limits and defaults of the key lifecycle.
const (
	MaxNameLen         = 100
	MaxDescriptionLen  = 500
	DefaultExpiryDays  = 365
	MaxExpiryDays      = 3650
	MaxExpiry          = 10 * 365 * 24 * time.Hour
	DefaultEnvironment = "production"
	MaxMetadataKeys    = 50
	MaxMetadataBytes   = 4 << 10
	DefaultGraceHours  = 168
	MaxGraceHours      = 720
	MaxPageSize        = 100
	DefaultPageSize    = 50
	// ExpiringSoonWindow is how close to expiry a key is reported as expiring_soon.
	ExpiringSoonWindow = 7 * 24 * time.Hour
)

// ErrForbidden: the caller may not do this (e.g. act for another owner without being admin).
var ErrForbidden = errors.New("forbidden")

// ErrLimit: a configured ceiling would be passed (live keys per user).
var ErrLimit = errors.New("limit reached")

var (
	environments = map[string]string{"development": exchange.EnvTest, "staging": exchange.EnvTest, "production": exchange.EnvLive}
)

// Store is the persistence the key lifecycle needs.
type Store interface {
	CreateKeyCapped(ctx context.Context, k *models.Key, maxLive int, now time.Time) error
	KeyByID(ctx context.Context, ownerID, id string) (models.Key, error)
	ListKeys(ctx context.Context, f models.KeyFilter) ([]models.Key, error)
	UpdateKey(ctx context.Context, ownerID, id string, fn func(k *models.Key) error) (models.Key, error)
	RotateKey(ctx context.Context, ownerID, oldID string, newKey *models.Key, graceUntil time.Time) (models.Key, error)
	DeleteKey(ctx context.Context, ownerID, id string, at time.Time) error
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
	Deny   exchange.RoleDenylist
	Audit  *audit.Recorder
	Limits exchange.LimitPolicy
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
	store   Store
	hasher  *exchange.Hasher
	minter  exchange.TokenMinter
	users   UserDirectory
	roles   RoleReader
	deny    exchange.RoleDenylist
	audit   *audit.Recorder
	limits  exchange.LimitPolicy
	maxKeys int
	maxRate ratelimit.Limit
	cache   *exchange.TokenCache
	usage   UsageReader
	clock   func() time.Time
}

// New wires the key lifecycle.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxKeysPerUser <= 0 {
		cfg.MaxKeysPerUser = DefaultMaxKeysPerUser
	}
	return &Service{store: cfg.Store, hasher: cfg.Hasher, minter: cfg.Minter, users: cfg.Users, roles: cfg.Roles,
		deny: cfg.Deny, audit: cfg.Audit, limits: cfg.Limits, maxKeys: cfg.MaxKeysPerUser, maxRate: cfg.OwnerMaxRate,
		cache: cfg.Cache, usage: cfg.Usage, clock: cfg.Clock}
}

// RateLimit is a key's own limit as callers give it.
type RateLimit struct {
	Requests      int
	WindowSeconds int
	Unlimited     bool
}

// Limits of rate-limit settings and allowlists.
const (
	MaxRateRequests   = 1_000_000
	MaxRateWindow     = 86400
	MaxAllowlistCIDRs = 100
	// DefaultMaxKeysPerUser is the live-key ceiling when none is configured.
	DefaultMaxKeysPerUser = 50
)

// validRateLimit returns the stored pair (requests, window seconds). Owners stay
// under the configured ceiling; admins (byAdmin) may pass it.
func (k *Service) validRateLimit(verr *errs.Validation, r *RateLimit, byAdmin bool) (int, int) {
	ceiling := k.maxRate.Requests > 0 && !byAdmin
	switch {
	case r == nil:
		return 0, 0
	case ceiling && r.Unlimited:
		verr.Add("rate_limit", fmt.Sprintf("unlimited is above the most an owner may set (%d requests per %d seconds); ask an admin",
			k.maxRate.Requests, int(k.maxRate.Window/time.Second)))
	case r.Unlimited && (r.Requests != 0 || r.WindowSeconds != 0):
		verr.Add("rate_limit", "give either unlimited or requests and window_seconds")
	case r.Unlimited && !k.limits.AllowUnlimited:
		verr.Add("rate_limit", "unlimited keys are not allowed by this server's configuration")
	case r.Unlimited:
		return -1, 0
	case r.Requests < 1 || r.Requests > MaxRateRequests:
		verr.Add("rate_limit.requests", fmt.Sprintf("must be between 1 and %d", MaxRateRequests))
	case r.WindowSeconds < 1 || r.WindowSeconds > MaxRateWindow:
		verr.Add("rate_limit.window_seconds", fmt.Sprintf("must be between 1 and %d", MaxRateWindow))
	case ceiling && !rateAtMost(r.Requests, r.WindowSeconds, k.maxRate.Requests, int(k.maxRate.Window/time.Second)):
		verr.Add("rate_limit", fmt.Sprintf("must be at most %d requests per %d seconds (the most an owner may set; ask an admin for more)",
			k.maxRate.Requests, int(k.maxRate.Window/time.Second)))
	default:
		return r.Requests, r.WindowSeconds
	}
	return 0, 0
}

// rateAtMost: req per window is no faster than maxReq per maxWindow, and no larger a
// burst (a longer window with proportionally more requests would allow one).
func rateAtMost(req, window, maxReq, maxWindow int) bool {
	return req <= maxReq && int64(req)*int64(maxWindow) <= int64(maxReq)*int64(window)
}

// validAllowlist checks an IP allowlist and returns the list to store.
func validAllowlist(verr *errs.Validation, list []string) string {
	out, problem := cidrlist.Normalize(list, MaxAllowlistCIDRs)
	if problem != "" {
		verr.Add("ip_allowlist", problem)
	}
	return out
}

// CreateParams is a request for a new key; Create validates it.
type CreateParams struct {
	Owner         string // admins only: user id or username; empty = the caller
	Name          string
	Description   string
	Environment   string
	ExpiresInDays *int
	ExpiresAt     *string // RFC 3339
	NeverExpires  *bool
	Scopes        []string
	Metadata      json.RawMessage
	RateLimit     *RateLimit
	IPAllowlist   []string
}

// Created is a new key with its one-time plaintext.
type Created struct {
	Key       models.Key
	Plaintext string
}

// ownerScope is the owner filter for reads and writes: admins reach every key.
func ownerScope(a audit.Actor) string {
	if a.Admin {
		return ""
	}
	return a.ID
}

// actingFor marks the actor as acting on ownerID's behalf when they are not the owner.
func actingFor(a audit.Actor, ownerID string) audit.Actor {
	if a.ID != ownerID {
		a.OnBehalfOf = ownerID
	}
	return a
}

// mayActFor: an admin may create or rotate a key for another user only when that
// user's effective roles hold nothing of the denylist — else a Keyward admin could
// hand themselves a key that carries more power than Keyward's admin role.
func (k *Service) mayActFor(ctx context.Context, owner exchange.Owner, what string) error {
	if k.roles == nil {
		return errors.New("no role reader configured: cannot check the user an admin acts for")
	}
	roles, err := k.roles.EffectiveRoles(ctx, owner.ID, k.deny.Clients())
	if err != nil {
		return fmt.Errorf("effective roles of %s: %w", owner.ID, err)
	}
	if role, denied := k.deny.Match(roles); denied {
		return fmt.Errorf("%w: %s holds the role %s, which is on Keyward's denylist: admins may not %s keys for such users",
			ErrForbidden, owner.Username, role, what)
	}
	return nil
}

// Create validates p, prepares the owner at Keycloak, then stores the key hash. If
// Keycloak fails nothing is written; a link made before a failed insert is harmless
// and reused next time.
func (k *Service) Create(ctx context.Context, a audit.Actor, p CreateParams) (Created, error) {
	now := k.clock().UTC()
	verr := &errs.Validation{}
	name := validName(verr, "name", p.Name)
	validDescription(verr, p.Description)
	onBehalf := p.Owner != "" && p.Owner != a.ID && p.Owner != a.Name
	env := p.Environment
	if env == "" {
		env = DefaultEnvironment
	}
	keyEnv, ok := environments[env]
	if !ok {
		verr.Add("environment", "must be one of development, staging, production")
	}
	expiresAt := k.expiry(verr, p, now)
	scopes := validScopes(verr, p.Scopes)
	metadata := validMetadata(verr, p.Metadata)
	rateRequests, rateWindow := k.validRateLimit(verr, p.RateLimit, a.Admin)
	allowlist := validAllowlist(verr, p.IPAllowlist)
	if err := verr.Err(); err != nil {
		return Created{}, err
	}

	owner := exchange.Owner{ID: a.ID, Username: a.Name}
	if onBehalf {
		if !a.Admin {
			return Created{}, fmt.Errorf("%w: only admins create keys for other users", ErrForbidden)
		}
		if k.users == nil {
			return Created{}, errors.New("no user directory configured")
		}
		u, err := k.users.FindUser(ctx, p.Owner)
		if errors.Is(err, keycloak.ErrNotFound) {
			verr.Add("owner", "no such user in the realm")
			return Created{}, verr
		}
		if err != nil {
			return Created{}, fmt.Errorf("find owner: %w", err)
		}
		if u.ServiceAccount {
			verr.Add("owner", "is the service account of a client: keys belong to people")
			return Created{}, verr
		}
		owner = exchange.Owner{ID: u.ID, Username: u.Username}
		onBehalf = owner.ID != a.ID
	}
	if onBehalf {
		if err := k.mayActFor(ctx, owner, "create"); err != nil {
			return Created{}, err
		}
	}

	if err := k.minter.Prepare(ctx, owner); err != nil {
		return Created{}, err
	}
	parsed, err := exchange.GenerateKey(keyEnv)
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
		Scopes:        scopes,
		Metadata:      metadata,
		Enabled:       true,
		CreatedAt:     now,
		UpdatedAt:     now,
		ExpiresAt:     expiresAt,

		RateLimitRequests:      rateRequests,
		RateLimitWindowSeconds: rateWindow,
		IPAllowlist:            allowlist,
	}
	if onBehalf {
		if p.RateLimit != nil {
			row.LimitSetBy = a.Name
		}
		if allowlist != "" {
			row.AllowlistSetBy = a.Name
		}
	}
	err = k.store.CreateKeyCapped(ctx, &row, k.maxKeys, now)
	if errors.Is(err, models.ErrLimitReached) {
		return Created{}, fmt.Errorf("%w: %s holds %d live keys, the most this server allows (KEYWARD_MAX_KEYS_PER_USER); revoke one first",
			ErrLimit, owner.Username, k.maxKeys)
	}
	if err != nil {
		return Created{}, fmt.Errorf("store key: %w", err)
	}
	k.audit.Record(ctx, actingFor(a, row.OwnerID), "key.create", "key", row.ID, row.OwnerID, map[string]any{
		"name": row.Name, "prefix": Prefix(row), "environment": row.Environment,
	})
	return Created{Key: row, Plaintext: parsed.String()}, nil
}

// expiry validates the single expiry form of p.
func (k *Service) expiry(verr *errs.Validation, p CreateParams, now time.Time) *time.Time {
	forms := []string{}
	if p.ExpiresInDays != nil {
		forms = append(forms, "expires_in_days")
	}
	if p.ExpiresAt != nil {
		forms = append(forms, "expires_at")
	}
	if p.NeverExpires != nil && *p.NeverExpires {
		forms = append(forms, "never_expires")
	}
	if len(forms) > 1 {
		verr.Add(forms[1], "give one expiry form only, not "+strings.Join(forms, " and "))
		return nil
	}
	switch {
	case p.NeverExpires != nil && *p.NeverExpires:
		return nil
	case p.ExpiresAt != nil:
		return validFutureTime(verr, "expires_at", *p.ExpiresAt, now)
	case p.ExpiresInDays != nil && (*p.ExpiresInDays < 1 || *p.ExpiresInDays > MaxExpiryDays):
		verr.Add("expires_in_days", fmt.Sprintf("must be between 1 and %d", MaxExpiryDays))
		return nil
	}
	days := DefaultExpiryDays
	if p.ExpiresInDays != nil {
		days = *p.ExpiresInDays
	}
	t := now.AddDate(0, 0, days)
	return &t
}

func validFutureTime(verr *errs.Validation, field, s string, now time.Time) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		verr.Add(field, "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z")
		return nil
	case !t.After(now):
		verr.Add(field, "must be in the future")
		return nil
	case t.Sub(now) > MaxExpiry:
		verr.Add(field, "must be at most 10 years ahead")
		return nil
	}
	t = t.UTC()
	return &t
}

func validName(verr *errs.Validation, field, raw string) string {
	name := strings.TrimSpace(raw)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(raw):
		verr.Add(field, "must be valid UTF-8")
	case n == 0:
		verr.Add(field, "is required")
	case n > MaxNameLen:
		verr.Add(field, fmt.Sprintf("must be at most %d characters", MaxNameLen))
	default:
		if problem := safetext.Problem(name, false); problem != "" {
			verr.Add(field, problem)
		}
	}
	return name
}

func validDescription(verr *errs.Validation, d string) {
	switch {
	case !utf8.ValidString(d):
		verr.Add("description", "must be valid UTF-8")
	case utf8.RuneCountInString(d) > MaxDescriptionLen:
		verr.Add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLen))
	default:
		if problem := safetext.Problem(d, true); problem != "" {
			verr.Add("description", problem)
		}
	}
}

// validScopes checks names of Keycloak client scopes; Keycloak itself refuses a scope
// the client may not request (invalid_scope at exchange).
func validScopes(verr *errs.Validation, scopes []string) string {
	if len(scopes) > exchange.MaxScopes {
		verr.Add("scopes", fmt.Sprintf("at most %d scopes", exchange.MaxScopes))
		return ""
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !exchange.ScopeNameOK(s) {
			verr.Add("scopes", "each scope is 1..64 characters of letters, digits and _ . : / -")
			return ""
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// validMetadata accepts a JSON object of at most 50 keys and 4 KiB; it returns the
// compact form to store.
func validMetadata(verr *errs.Validation, raw json.RawMessage) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return "{}"
	}
	var m map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &m) != nil {
		verr.Add("metadata", "must be a JSON object")
		return ""
	}
	if len(m) > MaxMetadataKeys {
		verr.Add("metadata", fmt.Sprintf("at most %d keys", MaxMetadataKeys))
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		verr.Add("metadata", "must be a JSON object")
		return ""
	}
	if buf.Len() > MaxMetadataBytes {
		verr.Add("metadata", "must be at most 4 KiB")
		return ""
	}
	if strings.Contains(buf.String(), `\u0000`) {
		verr.Add("metadata", "must not contain NUL characters")
		return ""
	}
	return buf.String()
}

// Get returns one key the caller may see.
func (k *Service) Get(ctx context.Context, a audit.Actor, id string) (models.Key, error) {
	return k.store.KeyByID(ctx, ownerScope(a), id)
}

// ListParams are the caller's list options, validated by List.
type ListParams struct {
	Owner       string // admins: user id or username; users: only themselves
	Query       string
	Status      string
	Environment string
	Expires     string
	Sort        string
	Order       string
	Limit       int
	Cursor      string
}

// Page is one page of keys.
type Page struct {
	Items      []models.Key
	NextCursor string
}

var (
	listStatuses = map[string]bool{"": true, "active": true, "inactive": true, "expired": true, "expiring_soon": true}
	listExpires  = map[string]bool{"": true, "30d": true, "expired": true, "never": true}
	listSorts    = map[string]bool{"": true, "created_at": true, "expires_at": true, "name": true, "last_used_at": true}
	listEnvs     = map[string]bool{"": true, "development": true, "staging": true, "production": true}
)

// List returns a page of keys: the caller's own, or for admins any owner's.
func (k *Service) List(ctx context.Context, a audit.Actor, p ListParams) (Page, error) {
	verr := &errs.Validation{}
	check := func(field, v string, allowed map[string]bool, want string) {
		if !allowed[v] {
			verr.Add(field, "must be one of "+want)
		}
	}
	check("status", p.Status, listStatuses, "active, inactive, expired, expiring_soon")
	check("expires", p.Expires, listExpires, "30d, expired, never")
	check("sort", p.Sort, listSorts, "created_at, expires_at, name, last_used_at")
	check("environment", p.Environment, listEnvs, "development, staging, production")
	if p.Order != "" && p.Order != "asc" && p.Order != "desc" {
		verr.Add("order", "must be asc or desc")
	}
	if p.Limit < 0 || p.Limit > MaxPageSize {
		verr.Add("limit", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	if !utf8.ValidString(p.Query) || utf8.RuneCountInString(p.Query) > 200 || strings.ContainsRune(p.Query, 0) {
		verr.Add("q", "must be valid text of at most 200 characters")
	}
	offset, ok := decodeCursor(p.Cursor)
	if !ok {
		verr.Add("cursor", "is not a cursor returned by this API")
	}
	if err := verr.Err(); err != nil {
		return Page{}, err
	}

	ownerID := ownerScope(a)
	if p.Owner != "" && p.Owner != a.ID && p.Owner != a.Name {
		if !a.Admin {
			return Page{}, fmt.Errorf("%w: only admins list other users' keys", ErrForbidden)
		}
		if k.users == nil {
			return Page{}, errors.New("no user directory configured")
		}
		u, err := k.users.FindUser(ctx, p.Owner)
		if errors.Is(err, keycloak.ErrNotFound) {
			return Page{Items: []models.Key{}}, nil
		}
		if err != nil {
			return Page{}, fmt.Errorf("find owner: %w", err)
		}
		ownerID = u.ID
	} else if p.Owner != "" {
		ownerID = a.ID
	}
	limit := p.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	sort := p.Sort
	if sort == "" {
		sort = "created_at"
	}
	// One extra row tells whether another page exists.
	rows, err := k.store.ListKeys(ctx, models.KeyFilter{
		OwnerID:     ownerID,
		Query:       p.Query,
		MatchOwner:  a.Admin,
		Status:      p.Status,
		Environment: p.Environment,
		Expires:     p.Expires,
		Now:         k.clock(),
		Sort:        sort,
		Desc:        p.Order != "asc",
		Limit:       limit + 1,
		Offset:      offset,
	})
	if err != nil {
		return Page{}, fmt.Errorf("list keys: %w", err)
	}
	page := Page{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.NextCursor = encodeCursor(offset + limit)
	}
	return page, nil
}

// UpdateParams holds the fields a PATCH may change; nil means unchanged.
type UpdateParams struct {
	Name        *string
	Description *string
	Scopes      *[]string
	Metadata    json.RawMessage
	Enabled     *bool
	ExpiresAt   *string
	RateLimit   *RateLimit
	IPAllowlist *[]string
}

// Update changes a key. Expiry may be shortened, never extended.
func (k *Service) Update(ctx context.Context, a audit.Actor, id string, p UpdateParams) (models.Key, error) {
	now := k.clock().UTC()
	verr := &errs.Validation{}
	var name, scopes, metadata string
	if p.Name != nil {
		name = validName(verr, "name", *p.Name)
	}
	if p.Description != nil {
		validDescription(verr, *p.Description)
	}
	if p.Scopes != nil {
		scopes = validScopes(verr, *p.Scopes)
	}
	if p.Metadata != nil {
		metadata = validMetadata(verr, p.Metadata)
	}
	var expiresAt *time.Time
	if p.ExpiresAt != nil {
		expiresAt = validFutureTime(verr, "expires_at", *p.ExpiresAt, now)
	}
	rateRequests, rateWindow := k.validRateLimit(verr, p.RateLimit, a.Admin)
	var allowlist string
	if p.IPAllowlist != nil {
		allowlist = validAllowlist(verr, *p.IPAllowlist)
	}
	if err := verr.Err(); err != nil {
		return models.Key{}, err
	}
	var changed []string
	updated, err := k.store.UpdateKey(ctx, ownerScope(a), id, func(key *models.Key) error {
		changed = nil // the store may run fn again
		if err := k.adminDecisionsStick(a, key, p, rateRequests, rateWindow, allowlist); err != nil {
			return err
		}
		if p.Name != nil && name != key.Name {
			key.Name, changed = name, append(changed, "name")
		}
		if p.Description != nil && *p.Description != key.Description {
			key.Description, changed = *p.Description, append(changed, "description")
		}
		if p.Scopes != nil && scopes != key.Scopes {
			key.Scopes, changed = scopes, append(changed, "scopes")
		}
		if p.Metadata != nil && metadata != key.Metadata {
			key.Metadata, changed = metadata, append(changed, "metadata")
		}
		if expiresAt != nil {
			if key.ExpiresAt != nil && expiresAt.After(*key.ExpiresAt) {
				return errs.Field("expires_at", "may be shortened, never extended")
			}
			key.ExpiresAt, changed = expiresAt, append(changed, "expires_at")
		}
		if p.Enabled != nil && *p.Enabled != key.Enabled {
			key.Enabled, changed = *p.Enabled, append(changed, "enabled")
		}
		if p.RateLimit != nil && (rateRequests != key.RateLimitRequests || rateWindow != key.RateLimitWindowSeconds) {
			key.RateLimitRequests, key.RateLimitWindowSeconds = rateRequests, rateWindow
			changed = append(changed, "rate_limit")
		}
		if p.IPAllowlist != nil && allowlist != key.IPAllowlist {
			key.IPAllowlist, changed = allowlist, append(changed, "ip_allowlist")
		}
		if a.Admin && a.ID != key.OwnerID {
			// An admin's decision on someone else's key binds its owner.
			if p.Enabled != nil {
				key.DisabledBy = map[bool]string{false: a.Name, true: ""}[*p.Enabled]
			}
			if p.RateLimit != nil {
				key.LimitSetBy = a.Name
			}
			if p.IPAllowlist != nil {
				key.AllowlistSetBy = map[bool]string{true: a.Name, false: ""}[allowlist != ""]
			}
		}
		return nil
	})
	if err != nil {
		return models.Key{}, err
	}
	k.cache.Drop(updated.ID)
	if len(changed) > 0 {
		action := "key.update"
		if len(changed) == 1 && changed[0] == "enabled" {
			action = map[bool]string{true: "key.enable", false: "key.disable"}[updated.Enabled]
		}
		k.audit.Record(ctx, actingFor(a, updated.OwnerID), action, "key", updated.ID, updated.OwnerID, map[string]any{"fields": changed})
	}
	return updated, nil
}

// adminDecisionsStick refuses an owner's change that would undo or widen what an admin
// set on their key: re-enabling a key an admin disabled, raising a limit or widening an
// allowlist an admin set. Narrowing stays the owner's right. Admins are not bound.
func (k *Service) adminDecisionsStick(a audit.Actor, key *models.Key, p UpdateParams, rateRequests, rateWindow int, allowlist string) error {
	if a.Admin {
		return nil
	}
	if p.Enabled != nil && *p.Enabled && !key.Enabled && key.DisabledBy != "" {
		return fmt.Errorf("%w: the key was disabled by the admin %s; only an admin can enable it again", ErrForbidden, key.DisabledBy)
	}
	if p.RateLimit != nil && key.LimitSetBy != "" && (rateRequests != key.RateLimitRequests || rateWindow != key.RateLimitWindowSeconds) {
		narrower := rateRequests > 0 && key.RateLimitRequests > 0 &&
			rateAtMost(rateRequests, rateWindow, key.RateLimitRequests, key.RateLimitWindowSeconds)
		if !narrower {
			return fmt.Errorf("%w: the rate limit was set by the admin %s; you may lower it, not raise or remove it", ErrForbidden, key.LimitSetBy)
		}
	}
	if p.IPAllowlist != nil && key.AllowlistSetBy != "" && allowlist != key.IPAllowlist && !cidrlist.Within(allowlist, key.IPAllowlist) {
		return fmt.Errorf("%w: the IP allowlist was set by the admin %s; you may narrow it, not widen or remove it", ErrForbidden, key.AllowlistSetBy)
	}
	return nil
}

// Rotate issues a new key with the same settings and keeps the old one working until
// now + grace (never past its own expiry).
func (k *Service) Rotate(ctx context.Context, a audit.Actor, id string, graceHours *int) (Created, error) {
	grace := DefaultGraceHours
	if graceHours != nil {
		grace = *graceHours
	}
	if grace < 0 || grace > MaxGraceHours {
		return Created{}, errs.Field("grace_period_hours", fmt.Sprintf("must be between 0 and %d", MaxGraceHours))
	}
	old, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return Created{}, err
	}
	if old.OwnerID != a.ID {
		if err := k.mayActFor(ctx, exchange.Owner{ID: old.OwnerID, Username: old.OwnerUsername}, "rotate"); err != nil {
			return Created{}, err
		}
	}
	now := k.clock().UTC()
	parsed, err := exchange.GenerateKey(environments[old.Environment])
	if err != nil {
		return Created{}, err
	}
	next := models.Key{
		OwnerID:       old.OwnerID,
		OwnerUsername: old.OwnerUsername,
		Name:          old.Name,
		Description:   old.Description,
		LookupID:      parsed.LookupID,
		SecretHash:    k.hasher.Hash(parsed.Secret),
		Environment:   old.Environment,
		Scopes:        old.Scopes,
		Metadata:      old.Metadata,
		Enabled:       old.Enabled,
		CreatedAt:     now,
		UpdatedAt:     now,
		ExpiresAt:     old.ExpiresAt,

		RateLimitRequests:      old.RateLimitRequests,
		RateLimitWindowSeconds: old.RateLimitWindowSeconds,
		IPAllowlist:            old.IPAllowlist,
		DisabledBy:             old.DisabledBy,
		LimitSetBy:             old.LimitSetBy,
		AllowlistSetBy:         old.AllowlistSetBy,
	}
	graceUntil := now.Add(time.Duration(grace) * time.Hour)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(graceUntil) {
		graceUntil = *old.ExpiresAt // never past the old key's own expiry
	}
	prev, err := k.store.RotateKey(ctx, ownerScope(a), old.ID, &next, graceUntil)
	if err != nil {
		return Created{}, err
	}
	if !graceUntil.After(now) {
		k.cache.Drop(prev.ID)
	}
	k.audit.Record(ctx, actingFor(a, prev.OwnerID), "key.rotate", "key", prev.ID, prev.OwnerID, map[string]any{
		"new_key_id": next.ID, "grace_period_hours": grace, "prefix": Prefix(next),
	})
	return Created{Key: next, Plaintext: parsed.String()}, nil
}

// Delete revokes a key: from this moment the exchange refuses it.
func (k *Service) Delete(ctx context.Context, a audit.Actor, id string) error {
	key, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return err
	}
	if err := k.store.DeleteKey(ctx, ownerScope(a), key.ID, k.clock().UTC()); err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	k.cache.Drop(key.ID)
	k.audit.Record(ctx, actingFor(a, key.OwnerID), "key.delete", "key", key.ID, key.OwnerID, map[string]any{"name": key.Name, "prefix": Prefix(key)})
	return nil
}

// Prefix is the displayable public part of a stored key.
func Prefix(k models.Key) string {
	return exchange.ParsedKey{Env: environments[k.Environment], LookupID: k.LookupID}.Prefix()
}

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

// RateLimitOf is the key's effective limit for display: ok is false when unlimited.
func (k *Service) RateLimitOf(key models.Key) (requests, windowSeconds int, ok bool) {
	l, limited := k.limits.For(key)
	if !limited {
		return 0, 0, false
	}
	return l.Requests, int(l.Window / time.Second), true
}

// UsageReport is a key's usage as users see it.
type UsageReport struct {
	Key   models.Key
	Days  []DayUsage // oldest first, every day of the period, zeros included
	Month UsageTotals
	Total UsageTotals
}

// DayUsage counts one UTC day.
type DayUsage struct {
	Date string
	UsageTotals
}

// UsageTotals are successes and denials by reason.
type UsageTotals struct {
	Success int64
	Denied  map[string]int64
}

func (t *UsageTotals) add(outcome string, n int64) {
	if outcome == string(exchange.OutcomeIssued) {
		t.Success += n
		return
	}
	if t.Denied == nil {
		t.Denied = map[string]int64{}
	}
	t.Denied[outcome] += n
}

// Usage returns the flushed counters of a key for the last days (1..90) and the
// current calendar month.
func (k *Service) Usage(ctx context.Context, a audit.Actor, id string, days int) (UsageReport, error) {
	if days < 1 || days > 90 {
		return UsageReport{}, errs.Field("days", "must be between 1 and 90")
	}
	key, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return UsageReport{}, err
	}
	if k.usage == nil {
		return UsageReport{}, errors.New("no usage store configured")
	}
	now := k.clock().UTC()
	first := now.AddDate(0, 0, -(days - 1))
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	since := first
	if monthStart.Before(since) {
		since = monthStart
	}
	rows, err := k.usage.UsageByKey(ctx, key.ID, since.Format(time.DateOnly))
	if err != nil {
		return UsageReport{}, err
	}
	out := UsageReport{Key: key}
	byDay := map[string]*UsageTotals{}
	for d := first; !d.After(now); d = d.AddDate(0, 0, 1) {
		out.Days = append(out.Days, DayUsage{Date: d.Format(time.DateOnly)})
	}
	for i := range out.Days {
		byDay[out.Days[i].Date] = &out.Days[i].UsageTotals
	}
	monthPrefix := now.Format("2006-01")
	for _, r := range rows {
		if t, ok := byDay[r.Day]; ok {
			t.add(r.Outcome, r.Count)
			out.Total.add(r.Outcome, r.Count)
		}
		if strings.HasPrefix(r.Day, monthPrefix) {
			out.Month.add(r.Outcome, r.Count)
		}
	}
	return out, nil
}
