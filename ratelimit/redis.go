package ratelimit

import (
	"context"
	"fmt"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter shared by every replica using the same Redis and prefix: GCRA
// (generic cell rate algorithm, by redis_rate) in one Lua script per request, on Redis's
// clock, so that replicas agree whatever their own clocks say. Its state per id is one
// key that expires once the id's allowance is whole again.
//
// Unlike Memory, a changed limit does not reset an id: the time already used counts
// against the new limit.
type Redis struct {
	rl     *redis_rate.Limiter
	prefix string
}

// NewRedis returns a limiter keeping its state in client under keys starting with
// "rate:"+prefix. The client's own timeouts bound each call.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{rl: redis_rate.NewLimiter(client), prefix: prefix}
}

var _ Limiter = (*Redis)(nil)

// Allow asks Redis whether id may make one more request. When Redis cannot answer the
// error is returned: whether to fail open or closed is the caller's decision.
func (r *Redis) Allow(ctx context.Context, id string, l Limit) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	if l.Unlimited() {
		return unlimited, nil
	}
	res, err := r.rl.Allow(ctx, r.prefix+id, redis_rate.Limit{Rate: l.Requests, Burst: l.Requests, Period: l.Window})
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if res.Allowed > 0 {
		return Decision{Allowed: true, Remaining: res.Remaining}, nil
	}
	// The script answers in float seconds: a wait below a nanosecond would read as 0.
	return Decision{RetryAfter: max(res.RetryAfter, 1)}, nil
}
