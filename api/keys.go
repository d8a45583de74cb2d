package api

import (
	"encoding/json"
	"time"
)

// Bounds and enums of keys, as the key lifecycle (keys, exchange) enforces them.
const (
	KeyNameMax        = 100
	KeyDescriptionMax = 500
	// KeyOwnerMax bounds the owner an admin names (a Keycloak user id or username).
	KeyOwnerMax = 255
	// KeyConsumerMax bounds the consumer an admin names (its id or name).
	KeyConsumerMax       = 64
	KeyExpiryDaysMax     = 3650
	KeyGraceHoursMax     = 720
	KeyMetadataKeysMax   = 50
	KeyMetadataBytesMax  = 4 << 10
	KeyQueryMax          = 200
	KeyUsageDaysMax      = 90
	KeyUsageDaysDefault  = 30
	ScopesMax            = 20
	ScopePattern         = `^[A-Za-z0-9_.:/-]{1,64}$`
	IPAllowlistMax       = 100
	RateRequestsMax      = 1_000_000
	RateWindowSecondsMax = 86400
	KeyPrefixPattern     = `^kw_(live|test)_[0-9A-Za-z]{12}$`
	KeyPattern           = `^kw_(live|test)_[0-9A-Za-z]{44}_[0-9A-Za-z]{6}$`
	// KeyRolesMax bounds the roles a key may be limited to (one role scope each in the
	// token request); KeyRoleMax a role's text, <clientId>:<role> at most.
	KeyRolesMax = 20
	KeyRoleMax  = 511
)

// Environments a key is made for.
var Environments = []string{"development", "staging", "production"}

// Key statuses.
const (
	KeyActive        = "active"
	KeyInactive      = "inactive"
	KeyExpired       = "expired"
	KeyExpiringSoon  = "expiring_soon"
	KeyOwnerDisabled = "owner_disabled"
)

// KeyStatuses are the statuses of a key.
var KeyStatuses = []string{KeyActive, KeyInactive, KeyExpired, KeyExpiringSoon, KeyOwnerDisabled}

// The filters and sort orders of the key list.
var (
	KeyExpiresFilters = []string{"30d", "expired", "never"}
	KeySorts          = []string{"created_at", "expires_at", "name", "last_used_at"}
)

// The routes a key is exchanged through, the keys of UsageTotals.ByVia.
const (
	ViaToken       = "token"        // POST /v1/token
	ViaForwardAuth = "forward_auth" // /v1/forward-auth, a gateway's check
)

// UsageVias are the routes of a key's usage, in the order they are shown.
var UsageVias = []string{ViaToken, ViaForwardAuth}

// DenialReasons are the exchange's refusals a key's usage counts.
var DenialReasons = []string{"malformed", "unknown_key", "expired", "inactive", "ip_denied", "rate_limited",
	"user_refused", "denied_role", "owner_not_person", "throttled", "invalid_scope", "unavailable", "error",
	"outside_limit"}

// RateLimit is a key's limit: Requests per WindowSeconds, or Unlimited.
type RateLimit struct {
	Requests      int  `json:"requests,omitempty"`
	WindowSeconds int  `json:"window_seconds,omitempty"`
	Unlimited     bool `json:"unlimited,omitempty"`
}

// AdminSet names the admin behind each decision on a key that its owner cannot undo.
type AdminSet struct {
	Disabled    string `json:"disabled,omitempty" doc:"username of the admin who disabled the key; only an admin can enable it"`
	RateLimit   string `json:"rate_limit,omitempty" doc:"username of the admin who set the rate limit; the owner may only lower it"`
	IPAllowlist string `json:"ip_allowlist,omitempty" doc:"username of the admin who set the IP allowlist; the owner may only narrow it"`
}

func (AdminSet) Rules() Rules {
	return Rules{"disabled": {MinLen: 1}, "rate_limit": {MinLen: 1}, "ip_allowlist": {MinLen: 1}}
}

// Key is an API key as the API shows it: never its hash, and its text only once
// (CreatedKey).
type Key struct {
	ID            string          `json:"id"`
	Name          string          `json:"name" doc:"1..100 characters"`
	Description   string          `json:"description" doc:"up to 500 characters"`
	Prefix        string          `json:"prefix" doc:"public part of the key, e.g. kw_live_AbC123xyz789"`
	Status        string          `json:"status"`
	Environment   string          `json:"environment"`
	Scopes        []string        `json:"scopes" doc:"Keycloak client scopes the key may request"`
	Metadata      json.RawMessage `json:"metadata" doc:"the owner's JSON object, at most 50 keys and 4 KiB"`
	Owner         string          `json:"owner" doc:"Keycloak user id of the owner; a consumer key's: consumer:<consumer id>"`
	OwnerUsername string          `json:"owner_username" doc:"the owner's username; a consumer key's: the consumer's name"`
	OwnerType     string          `json:"owner_type" doc:"whose the key is: a user's (personal) or a consumer's (admins only)"`
	// Consumer is the consumer a consumer key belongs to; absent on a user's key.
	Consumer   *ConsumerRef `json:"consumer,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	ExpiresAt  *time.Time   `json:"expires_at"`
	LastUsedAt *time.Time   `json:"last_used_at"`
	LastUsedIP *string      `json:"last_used_ip" doc:"address of the last successful exchange"`
	// RateLimit is the key's effective limit: its own, else the server's default.
	RateLimit   RateLimit  `json:"rate_limit"`
	IPAllowlist []string   `json:"ip_allowlist" doc:"CIDRs the key is accepted from; empty: any address"`
	RotatedTo   *string    `json:"rotated_to,omitempty" doc:"id of the key that superseded this one"`
	GraceUntil  *time.Time `json:"grace_until,omitempty"`
	// AdminSet names the admin behind each decision the owner cannot undo.
	AdminSet *AdminSet `json:"admin_set,omitempty"`
	// Roles: absent when the key carries all of its owner's roles.
	Roles []string `json:"roles,omitempty" doc:"the roles the key is limited to: realm roles by name, client roles as <clientId>:<role>; absent: the key is not limited (it carries all of its owner's roles)"`
}

func (Key) Rules() Rules {
	return Rules{
		"id":          {Format: "uuid"},
		"name":        Text(1, KeyNameMax),
		"description": Text(0, KeyDescriptionMax),
		"prefix":      {Pattern: KeyPrefixPattern},
		"status":      {Enum: KeyStatuses},
		"environment": {Enum: Environments},
		"scopes":      {MaxItems: ScopesMax, Items: &Rule{Pattern: ScopePattern}},
		"rate_limit": {OneOf: []Rules{
			{"requests": {Required: true, Min: 1, Max: RateRequestsMax, MaxSet: true}, "window_seconds": {Required: true, Min: 1}},
			{"unlimited": {Required: true, Enum: []string{"true"}}},
		}},
		"ip_allowlist": {MaxItems: IPAllowlistMax},
		"rotated_to":   {Format: "uuid"},
		"roles":        keyRolesRule,
		"owner_type":   {Enum: KeyOwnerTypes},
	}
}

// Whose a key is (Key.OwnerType).
const (
	KeyOwnerUser     = "user"
	KeyOwnerConsumer = "consumer"
)

// KeyOwnerTypes are the values of Key.OwnerType.
var KeyOwnerTypes = []string{KeyOwnerUser, KeyOwnerConsumer}

// CreatedKey is a new key with its text, which only this answer carries.
type CreatedKey struct {
	Key
	Plaintext string `json:"key" doc:"the API key, shown in this response only"`
}

func (CreatedKey) Rules() Rules { return Rules{"key": {Pattern: KeyPattern}} }

// rateLimitRequest: requests per window, or unlimited.
var rateLimitRequest = Rule{OneOf: []Rules{
	{"requests": {Required: true, Min: 1, Max: RateRequestsMax, MaxSet: true},
		"window_seconds": {Required: true, Min: 1, Max: RateWindowSecondsMax, MaxSet: true},
		"unlimited":      {Enum: []string{"false"}}},
	{"requests": {Enum: []string{"0"}}, "window_seconds": {Enum: []string{"0"}},
		"unlimited": {Required: true, Enum: []string{"true"}}},
}}

// The request fields create and update share.
var (
	keyNameRule        = Rule{MinLen: 1, MaxLen: KeyNameMax, Trim: true, Safe: SafeLine}
	keyDescriptionRule = Rule{MaxLen: KeyDescriptionMax, Safe: SafeMultiline}
	keyScopesRule      = Rule{MaxItems: ScopesMax, Items: &Rule{Pattern: ScopePattern}}
	keyMetadataRule    = Rule{MaxProps: KeyMetadataKeysMax}
	keyAllowlistRule   = Rule{MaxItems: IPAllowlistMax}
	keyRolesRule       = Rule{MinItems: 1, MaxItems: KeyRolesMax, Items: &Rule{MinLen: 1, MaxLen: KeyRoleMax, Safe: SafeLine}}
)

// KeyCreate is a request for a new key. Give one expiry form at most.
type KeyCreate struct {
	Owner         string          `json:"owner,omitempty" doc:"admins only: user id or username to create the key for"`
	Consumer      string          `json:"consumer,omitempty" doc:"admins only: id or name of the consumer the key is for (not with owner); exchanged for the consumer's service-account token"`
	Name          string          `json:"name" doc:"1..100 characters once blanks at either end are trimmed; no control, bidirectional or invisible characters"`
	Description   string          `json:"description,omitempty" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	Environment   string          `json:"environment,omitempty"`
	ExpiresInDays *int            `json:"expires_in_days,omitempty"`
	ExpiresAt     *string         `json:"expires_at,omitempty" doc:"in the future, at most 10 years ahead"`
	NeverExpires  *bool           `json:"never_expires,omitempty"`
	Scopes        []string        `json:"scopes,omitempty" doc:"Keycloak client scopes, each 1..64 of letters, digits and _ . : / - (repeats are dropped)"`
	Metadata      json.RawMessage `json:"metadata,omitempty" doc:"a JSON object of at most 50 keys and 4 KiB, no NUL"`
	RateLimit     *RateLimit      `json:"rate_limit,omitempty" doc:"requests per window_seconds, or unlimited (when the server allows it; owners stay under the configured owner ceiling)"`
	IPAllowlist   []string        `json:"ip_allowlist,omitempty" doc:"CIDRs or single addresses, IPv4 or IPv6, e.g. 203.0.113.0/24"`
	Roles         []string        `json:"roles,omitempty" doc:"limit the key to these of its owner's roles: realm roles by name, client roles as <clientId>:<role> (the client id ends at the last colon); each an effective role of the owner, within the exchange client's scope and not on the denylist; absent or empty: all of the owner's roles"`
	ACLGroups     []string        `json:"acl_groups,omitempty" doc:"always refused: Keycloak cannot limit a token's acl_groups claim to part of the owner's groups, so a key carries all of them"`
}

func (KeyCreate) Rules() Rules {
	name := keyNameRule
	name.Required = true
	return Rules{
		"owner":           {MaxLen: KeyOwnerMax, Safe: SafeLine},
		"consumer":        {MaxLen: KeyConsumerMax, Safe: SafeLine},
		"name":            name,
		"description":     keyDescriptionRule,
		"environment":     {Enum: append([]string{""}, Environments...)},
		"expires_in_days": Between(1, KeyExpiryDaysMax),
		"expires_at":      {Format: "date-time"},
		"scopes":          keyScopesRule,
		"metadata":        keyMetadataRule,
		"rate_limit":      rateLimitRequest,
		"ip_allowlist":    keyAllowlistRule,
		"roles":           {MaxItems: KeyRolesMax, Items: keyRolesRule.Items},
	}
}

// KeyUpdate changes the fields that are not nil; Metadata "null" clears it.
type KeyUpdate struct {
	Name        *string         `json:"name,omitempty" doc:"1..100 characters once blanks at either end are trimmed; no control, bidirectional or invisible characters"`
	Description *string         `json:"description,omitempty" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	Scopes      *[]string       `json:"scopes,omitempty" doc:"Keycloak client scopes, each 1..64 of letters, digits and _ . : / - (repeats are dropped)"`
	Metadata    json.RawMessage `json:"metadata,omitempty" doc:"a JSON object of at most 50 keys and 4 KiB, no NUL"`
	Enabled     *bool           `json:"enabled,omitempty"`
	ExpiresAt   *string         `json:"expires_at,omitempty" doc:"in the future and not after the current expiry"`
	RateLimit   *RateLimit      `json:"rate_limit,omitempty" doc:"requests per window_seconds, or unlimited (when the server allows it; owners stay under the configured owner ceiling)"`
	IPAllowlist *[]string       `json:"ip_allowlist,omitempty" doc:"CIDRs or single addresses, IPv4 or IPv6, e.g. 203.0.113.0/24"`
	Roles       *[]string       `json:"roles,omitempty" doc:"narrow the key's roles: a non-empty subset of its current roles (of its owner's roles, for a key not limited yet); never widens"`
}

func (KeyUpdate) Rules() Rules {
	return Rules{
		"name":         keyNameRule,
		"description":  keyDescriptionRule,
		"scopes":       keyScopesRule,
		"metadata":     keyMetadataRule,
		"expires_at":   {Format: "date-time"},
		"rate_limit":   rateLimitRequest,
		"ip_allowlist": keyAllowlistRule,
		"roles":        keyRolesRule,
	}
}

// KeyRotate is the optional body of a rotation.
type KeyRotate struct {
	GracePeriodHours *int `json:"grace_period_hours,omitempty"`
}

func (KeyRotate) Rules() Rules { return Rules{"grace_period_hours": Between(0, KeyGraceHoursMax)} }

// UsageCounts counts one route's exchanges: successes, and denials by reason.
type UsageCounts struct {
	Success int64            `json:"success"`
	Denied  map[string]int64 `json:"denied"`
}

func (UsageCounts) Rules() Rules { return Rules{"denied": {Keys: DenialReasons}} }

// DeniedTotal is the sum of the denials.
func (u UsageCounts) DeniedTotal() int64 {
	var n int64
	for _, v := range u.Denied {
		n += v
	}
	return n
}

// UsageTotals counts the exchanges of every route together; ByVia splits them by
// route (ViaToken, ViaForwardAuth). A server before routes were counted sends no ByVia.
type UsageTotals struct {
	UsageCounts
	ByVia map[string]UsageCounts `json:"by_via" doc:"the same counts split by the route the key came through: token (POST /v1/token) and forward_auth (/v1/forward-auth); success and denied above are their sum"`
}

func (UsageTotals) Rules() Rules { return Rules{"by_via": {Keys: UsageVias, RequireKeys: true}} }

// DayUsage is one day's counts (Date is YYYY-MM-DD, UTC).
type DayUsage struct {
	Date string `json:"date"`
	UsageTotals
}

func (DayUsage) Rules() Rules { return Rules{"date": {Format: "date"}} }

// KeyUsage is a key's exchanges per day of the period and this month.
type KeyUsage struct {
	KeyID      string      `json:"key_id"`
	LastUsedAt *time.Time  `json:"last_used_at"`
	LastUsedIP *string     `json:"last_used_ip"`
	Month      UsageTotals `json:"month"`
	Period     UsageTotals `json:"period"`
	Days       []DayUsage  `json:"days" doc:"every day of the period, oldest first"`
}

func (KeyUsage) Rules() Rules {
	return Rules{"key_id": {Format: "uuid"}, "days": {MaxItems: KeyUsageDaysMax}}
}
