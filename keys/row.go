package keys

import (
	"encoding/json"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/models"
)

// The mapping of a stored key to the domain value. models owns the column encodings
// (models.Words, OwnLimit, LimitColumns); the mapping itself lives here, not in models,
// because keys imports models (models importing keys would be a cycle) and because the
// status and the effective limit need the service's clock and limit policy.

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
