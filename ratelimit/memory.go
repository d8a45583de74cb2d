package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepEvery is how often, in clock time, Memory drops limiters that are full again.
const sweepEvery = time.Minute

// Memory is an in-process Limiter: a token bucket (golang.org/x/time/rate) per id, with
// burst Requests and rate Requests/Window. Correct for one replica only.
//
// Memory stays bounded without losing state: a bucket that has refilled completely is
// the same as no bucket, so a periodic sweep drops those, and the map holds only ids
// that made a request within about one window.
type Memory struct {
	clock func() time.Time

	// One lock for the map and the buckets in it, so that a sweep never drops a bucket
	// between another request's look-up and its take.
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limit Limit
	lim   *rate.Limiter
}

// NewMemory returns an in-process limiter reading time from clock (time.Now if nil).
func NewMemory(clock func() time.Time) *Memory {
	if clock == nil {
		clock = time.Now
	}
	return &Memory{clock: clock, buckets: map[string]*bucket{}}
}

var _ Limiter = (*Memory)(nil)

// Allow takes one request from id's bucket if it holds one. A limit different from the
// one the id's bucket was made for replaces the bucket with a full one.
func (m *Memory) Allow(_ context.Context, id string, l Limit) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	if l.Unlimited() {
		m.forget(id)
		return unlimited, nil
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.sweep(now)
	}
	b, ok := m.buckets[id]
	if !ok || b.limit != l {
		b = &bucket{limit: l, lim: rate.NewLimiter(rateOf(l), l.Requests)}
		m.buckets[id] = b
	}
	if b.lim.AllowN(now, 1) {
		return Decision{Allowed: true, Remaining: int(math.Floor(b.lim.TokensAt(now)))}, nil
	}
	return Decision{RetryAfter: untilOneToken(b.lim, l, now)}, nil
}

// forget drops id's bucket: a key that became unlimited keeps no state.
func (m *Memory) forget(id string) {
	m.mu.Lock()
	delete(m.buckets, id)
	m.mu.Unlock()
}

// sweep drops the buckets that are full at now; m.mu must be held.
func (m *Memory) sweep(now time.Time) {
	for id, b := range m.buckets {
		if b.lim.TokensAt(now) >= float64(b.limit.Requests) {
			delete(m.buckets, id)
		}
	}
	m.lastSweep = now
}

// size is the number of ids with state, for tests.
func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// rateOf is Requests/Window in tokens per second. Computed in floating point: integer
// division of the window would round the interval down and let slightly more through.
func rateOf(l Limit) rate.Limit {
	return rate.Limit(float64(l.Requests) / l.Window.Seconds())
}

// untilOneToken is the time from now until lim, made for l, holds a whole token:
// missing tokens times Window/Requests, to the nearest nanosecond, then nudged up while
// floating-point error leaves the bucket a hair short, so that a caller retrying after
// exactly that long passes.
func untilOneToken(lim *rate.Limiter, l Limit, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	d := time.Duration(math.Round(missing * float64(l.Window) / float64(l.Requests)))
	for i := 0; i < 1000 && lim.TokensAt(now.Add(d)) < 1; i++ {
		d++
	}
	return max(d, 1)
}
