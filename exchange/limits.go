package exchange

import (
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// LimitPolicy holds the configured default rate limit and whether keys may be
// unlimited.
type LimitPolicy struct {
	Default        ratelimit.Limit
	AllowUnlimited bool
}

// For returns the key's effective limit; limited is false for an unlimited key (or an
// unlimited default).
func (p LimitPolicy) For(k models.Key) (l ratelimit.Limit, limited bool) {
	switch {
	case k.RateLimitRequests < 0:
		return ratelimit.Limit{}, false
	case k.RateLimitRequests > 0 && k.RateLimitWindowSeconds > 0:
		return ratelimit.Limit{Requests: k.RateLimitRequests, Window: time.Duration(k.RateLimitWindowSeconds) * time.Second}, true
	}
	return p.Default, p.Default.Requests > 0
}
