package exchange

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/keyward/keyward/ratelimit"
)

// FailureThrottle bounds failed exchanges per client address, so that forged keys —
// well-formed ones reach the database — cost an attacker a budget rather than load
// the store without limit. Only failures spend the budget: a success costs a map
// look-up and never waits. Each replica keeps its own budget in memory; that bounds
// the load each one takes.
type FailureThrottle struct {
	burst int
	every rate.Limit
	clock func() time.Time

	mu      sync.Mutex
	buckets map[netip.Prefix]*rate.Limiter
}

// maxThrottled bounds the addresses remembered; past it, full buckets are forgotten.
const maxThrottled = 100_000

// NewFailureThrottle allows failures failures per window per address (a burst of that
// size, refilled evenly). failures < 1 disables the throttle (nil).
func NewFailureThrottle(failures int, window time.Duration, clock func() time.Time) *FailureThrottle {
	if failures < 1 || window <= 0 {
		return nil
	}
	if clock == nil {
		clock = time.Now
	}
	return &FailureThrottle{
		burst: failures, every: rate.Every(window / time.Duration(failures)), clock: clock,
		buckets: map[netip.Prefix]*rate.Limiter{},
	}
}

// Blocked says whether the address has spent its budget, and when to come back.
func (t *FailureThrottle) Blocked(ip netip.Addr) (time.Duration, bool) {
	if t == nil {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[ratelimit.AddressPrefix(ip)]
	if !ok {
		return 0, false
	}
	now := t.clock()
	if b.TokensAt(now) >= 1 {
		return 0, false
	}
	r := b.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return wait, true
}

// Fail spends one unit of the address's budget.
func (t *FailureThrottle) Fail(ip netip.Addr) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := ratelimit.AddressPrefix(ip)
	b, ok := t.buckets[k]
	if !ok {
		if len(t.buckets) >= maxThrottled {
			t.forgetRefilled()
		}
		b = rate.NewLimiter(t.every, t.burst)
		t.buckets[k] = b
	}
	b.AllowN(t.clock(), 1)
}

// forgetRefilled drops the addresses whose budget is whole again; if none is, it
// starts over (an attacker spreading over more addresses than this gains little).
func (t *FailureThrottle) forgetRefilled() {
	now := t.clock()
	for k, b := range t.buckets {
		if b.TokensAt(now) >= float64(t.burst) {
			delete(t.buckets, k)
		}
	}
	if len(t.buckets) >= maxThrottled {
		t.buckets = map[netip.Prefix]*rate.Limiter{}
	}
}
