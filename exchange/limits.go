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
	requests, window, unlimited, set := k.OwnLimit()
	switch {
	case !set:
		return p.Default, p.Default.Requests > 0
	case unlimited:
		return ratelimit.Limit{}, false
	}
	return ratelimit.Limit{Requests: requests, Window: time.Duration(window) * time.Second}, true
}
