package keys

import (
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/models"
)

// Prefix is the displayable public part of a stored key.
func Prefix(k models.Key) string {
	env, _ := exchange.TextEnv(k.Environment)
	return exchange.ParsedKey{Env: env, LookupID: k.LookupID}.Prefix()
}

// Status is the key's state as users see it at now.
func Status(k models.Key, now time.Time) string {
	switch {
	case k.OwnerDisabled: // the owner is disabled in Keycloak: nothing else matters until enabled
		return "owner_disabled"
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
