// Package ratelimit decides whether one more request of an API key may pass now: N
// requests per window, per key id, with a burst of N. Memory serves one replica; Redis
// makes the limit hold across replicas.
//
// It knows key ids and limits only: not HTTP, not the store, not where a limit comes
// from. AddressKey is the one key per client address that every per-address limit
// counts under (IPv6 by /64). It must not decide what to do when its backend fails:
// errors go back to the caller, never a silent allow or deny.
package ratelimit

import (
	"context"
	"errors"
	"time"
)

// ErrInvalidLimit is returned for a limit that is neither zero nor positive requests
// per positive window.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limit is N requests per Window. A zero Limit means unlimited.
type Limit struct {
	Requests int
	Window   time.Duration
}

// Unlimited reports whether l imposes no limit. Only Requests counts: a window without
// requests limits nothing.
func (l Limit) Unlimited() bool { return l.Requests == 0 }

func (l Limit) validate() error {
	if l.Unlimited() || (l.Requests > 0 && l.Window > 0) {
		return nil
	}
	return ErrInvalidLimit
}

// Decision is the answer for one request.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests would pass right now; -1 when unlimited.
	Remaining int
	// RetryAfter is how long until one request passes again; > 0 exactly when
	// !Allowed. It is exact: rounding it for a Retry-After header is the caller's.
	RetryAfter time.Duration
}

// Limiter decides for one key id (an API key's id) whether a request may pass now.
type Limiter interface {
	Allow(ctx context.Context, id string, l Limit) (Decision, error)
}

var unlimited = Decision{Allowed: true, Remaining: -1}
