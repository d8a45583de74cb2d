package keys

import (
	"encoding/json"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

// The mapping of a stored key to the domain value, and of a valid request to the
// columns it writes: a field added to a key takes its lines here, both ways. models
// owns the column encodings (models.Words, OwnLimit, LimitColumns); the mapping itself
// lives here, not in models, because keys imports models (models importing keys would
// be a cycle) and because the status and the effective limit need the service's clock
// and limit policy.

// toKey maps a row to the domain value at now, with the effective limit under policy.
func toKey(row models.Key, now time.Time, policy exchange.LimitPolicy) Key {
	return Key{
		ID: row.ID, OwnerID: row.OwnerID, OwnerUsername: row.OwnerUsername, Name: row.Name,
		Description: row.Description, Prefix: prefixOf(row), Environment: row.Environment,
		Scopes: models.Words(row.Scopes), Metadata: metadataOf(row.Metadata), Enabled: row.Enabled,
		Status: statusOf(row, now), RateLimit: limitOf(row, policy), IPAllowlist: models.Words(row.IPAllowlist),
		AdminSet:      AdminSet{Disabled: row.DisabledBy, RateLimit: row.LimitSetBy, IPAllowlist: row.AllowlistSetBy},
		OwnerDisabled: row.OwnerDisabled, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		ExpiresAt: row.ExpiresAt, LastUsedAt: row.LastUsedAt, DeletedAt: row.DeletedAt, LastUsedIP: row.LastUsedIP,
		RotatedTo: row.RotatedTo, GraceUntil: row.GraceUntil, Roles: roleTexts(row),
		Consumer: consumerOf(row),
	}
}

// encoded are the fields of a request that validation turned into their stored forms;
// the plain fields (name, description) are stored as checkRules left them.
type encoded struct {
	scopes, metadata, allowlist string
	expiresAt                   *time.Time
	rateRequests, rateWindow    int
}

// createdRow is the row a valid create request stores, without owner and secret.
func createdRow(p CreateParams, enc encoded, now time.Time) models.Key {
	return models.Key{
		Name: p.Name, Description: p.Description, Environment: p.Environment, Enabled: true,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: enc.expiresAt,
		Scopes: enc.scopes, Metadata: enc.metadata, IPAllowlist: enc.allowlist,
		RateLimitRequests: enc.rateRequests, RateLimitWindowSeconds: enc.rateWindow,
	}
}

// plainColumn is an update field stored as given, and its column.
type plainColumn struct {
	field      string
	to, column *string
}

// plainColumns are the update's plain fields with row's columns, in the order a change
// names them; to is nil when the field is not given.
func plainColumns(p UpdateParams, row *models.Key) []plainColumn {
	return []plainColumn{{"name", p.Name, &row.Name}, {"description", p.Description, &row.Description}}
}

// apply makes the change on key and names the fields it changed. Expiry may be
// shortened, never extended.
func (ch change) apply(key *models.Key) ([]string, error) {
	var changed []string
	p := ch.p
	for _, c := range plainColumns(p, key) {
		if c.to != nil && *c.to != *c.column {
			*c.column, changed = *c.to, append(changed, c.field)
		}
	}
	if p.Scopes != nil && ch.scopes != key.Scopes {
		key.Scopes, changed = ch.scopes, append(changed, "scopes")
	}
	if p.Metadata != nil && ch.metadata != key.Metadata {
		key.Metadata, changed = ch.metadata, append(changed, "metadata")
	}
	if ch.expiresAt != nil {
		if key.ExpiresAt != nil && ch.expiresAt.After(*key.ExpiresAt) {
			return nil, errs.Field("expires_at", "may be shortened, never extended")
		}
		key.ExpiresAt, changed = ch.expiresAt, append(changed, "expires_at")
	}
	if p.Enabled != nil && *p.Enabled != key.Enabled {
		key.Enabled, changed = *p.Enabled, append(changed, "enabled")
	}
	if p.RateLimit != nil && (ch.rateRequests != key.RateLimitRequests || ch.rateWindow != key.RateLimitWindowSeconds) {
		key.RateLimitRequests, key.RateLimitWindowSeconds = ch.rateRequests, ch.rateWindow
		changed = append(changed, "rate_limit")
	}
	if p.IPAllowlist != nil && ch.allowlist != key.IPAllowlist {
		key.IPAllowlist, changed = ch.allowlist, append(changed, "ip_allowlist")
	}
	return changed, nil
}

// rotatedRow is the row that supersedes old: every setting goes on (the owner, the
// limits, the admins' decisions, the roles: nothing to make in Keycloak), with a new
// secret and a life of its own.
func rotatedRow(old models.Key, lookupID string, secretHash []byte, now time.Time) models.Key {
	next := old
	next.ID, next.LookupID, next.SecretHash = "", lookupID, secretHash
	next.CreatedAt, next.UpdatedAt = now, now
	next.LastUsedAt, next.LastUsedIP, next.DeletedAt = nil, "", nil
	next.RotatedTo, next.GraceUntil = nil, nil
	next.OwnerDisabled = false // followed from the owner's events, as on any new key
	return next
}

// consumerOf is whose a consumer key is; nil for a user's key.
func consumerOf(row models.Key) *Consumer {
	if row.OwnerType != models.OwnerConsumer {
		return nil
	}
	return &Consumer{ID: row.ConsumerID, Name: row.OwnerUsername}
}

// toKeys maps rows; never nil.
func (k *Service) toKeys(rows []models.Key) []Key {
	now := k.clock()
	out := make([]Key, 0, len(rows))
	for _, r := range rows {
		out = append(out, toKey(r, now, k.limits))
	}
	return out
}

// key maps one row at the service's clock.
func (k *Service) key(row models.Key) Key { return toKey(row, k.clock(), k.limits) }

// metadataOf decodes the metadata column: "{}" when empty.
func metadataOf(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

// limitOf decodes the rate-limit pair against the server's default.
func limitOf(row models.Key, policy exchange.LimitPolicy) Limit {
	_, _, _, own := row.OwnLimit()
	l, limited := policy.For(row)
	if !limited {
		return Limit{Unlimited: true, Own: own}
	}
	return Limit{Requests: l.Requests, WindowSeconds: int(l.Window / time.Second), Own: own}
}

// limitColumns encodes a caller's limit as the stored pair; nil is the server's default.
func limitColumns(r *RateLimit) (requests, windowSeconds int) {
	if r == nil {
		return models.LimitColumns(0, 0, false, false)
	}
	return models.LimitColumns(r.Requests, r.WindowSeconds, r.Unlimited, true)
}

// prefixOf is the displayable public part of a stored key.
func prefixOf(row models.Key) string {
	env, _ := exchange.TextEnv(row.Environment)
	return exchange.ParsedKey{Env: env, LookupID: row.LookupID}.Prefix()
}

// statusOf is the key's state as users see it at now.
func statusOf(row models.Key, now time.Time) Status {
	switch {
	case row.OwnerDisabled: // the owner is disabled in Keycloak: nothing else matters until enabled
		return StatusOwnerDisabled
	case !row.Enabled:
		return StatusInactive
	case row.ExpiresAt != nil && !now.Before(*row.ExpiresAt):
		return StatusExpired
	case row.ExpiresAt != nil && row.ExpiresAt.Sub(now) <= ExpiringSoonWindow:
		return StatusExpiringSoon
	}
	return StatusActive
}
