package ratelimit

// Behaviour every backend must have, run on Memory and on a real Redis alike.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/redistest"
	"github.com/keyward/keyward/internal/testkit"
)

type backend struct {
	name string
	// open returns a limiter with no state; all limiters opened by one test share it,
	// as replicas would.
	open func(t *testing.T) func() Limiter
}

func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T) func() Limiter {
			// Frozen: whatever the scheduler does, no token comes back during a test.
			clock := testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			m := NewMemory(clock.Now)
			return func() Limiter { return m }
		}},
		{"redis", func(t *testing.T) func() Limiter {
			url := redistest.URL(t)
			prefix := "test:" + t.Name() + ":"
			// Each limiter gets its own client: separate connection pools, as in
			// separate processes.
			return func() Limiter { return NewRedis(newRedisClient(t, url), prefix) }
		}},
	}
}

func newRedisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", redistest.EnvServerURL, err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func forEachBackend(t *testing.T, test func(t *testing.T, open func() Limiter)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { test(t, b.open(t)) })
	}
}

// rounding is the slack allowed above an exact duration: both backends compute in
// floating point (Redis in float seconds since 2017).
const rounding = time.Millisecond

// burst sends n concurrent requests for id and counts the allowed ones; every denial
// must carry a positive RetryAfter no longer than one request's share of the window.
func burst(t *testing.T, limiters []Limiter, id string, l Limit, n int) int {
	t.Helper()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			d, err := limiters[i%len(limiters)].Allow(context.Background(), id, l)
			switch {
			case err != nil:
				errs <- err
			case d.Allowed:
				allowed.Add(1)
			case d.RetryAfter <= 0 || d.RetryAfter > l.Window/time.Duration(l.Requests)+rounding:
				errs <- errors.New("denied with RetryAfter " + d.RetryAfter.String())
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	return int(allowed.Load())
}

func TestLimiter_ConcurrentBurst_AllowsExactlyTheLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() Limiter) {
		l := Limit{Requests: 50, Window: time.Minute}
		if got := burst(t, []Limiter{open()}, "key-1", l, 200); got != 50 {
			t.Fatalf("200 concurrent requests at 50/min: %d allowed, want exactly 50", got)
		}
	})
}

func TestLimiter_TwoReplicas_ShareOneLimit(t *testing.T) {
	for _, b := range backends() {
		if b.name == "memory" {
			continue // one process by design
		}
		t.Run(b.name, func(t *testing.T) {
			open := b.open(t)
			replicas := []Limiter{open(), open()}
			l := Limit{Requests: 50, Window: time.Minute}
			if got := burst(t, replicas, "key-1", l, 200); got != 50 {
				t.Fatalf("200 requests over two replicas at 50/min: %d allowed, want exactly 50 in total", got)
			}
		})
	}
}

func TestLimiter_Sequential_RemainingCountsDownThenDenied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() Limiter) {
		lim := open()
		l := Limit{Requests: 5, Window: time.Minute}
		for i := range 5 {
			d, err := lim.Allow(context.Background(), "key-1", l)
			if err != nil || !d.Allowed || d.Remaining != 4-i || d.RetryAfter != 0 {
				t.Fatalf("request %d: %+v, %v; want allowed with %d remaining", i+1, d, err, 4-i)
			}
		}
		d, err := lim.Allow(context.Background(), "key-1", l)
		if err != nil || d.Allowed || d.Remaining != 0 {
			t.Fatalf("request 6: %+v, %v; want denied", d, err)
		}
		// One request's share of the window, less what time has passed (Redis's clock runs).
		if share := l.Window / 5; d.RetryAfter <= share-5*time.Second || d.RetryAfter > share+rounding {
			t.Fatalf("RetryAfter = %v, want about %v", d.RetryAfter, share)
		}
	})
}

func TestLimiter_IDsAreIndependent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() Limiter) {
		lim := open()
		l := Limit{Requests: 2, Window: time.Minute}
		for range 3 {
			_, _ = lim.Allow(context.Background(), "busy", l)
		}
		d, err := lim.Allow(context.Background(), "quiet", l)
		if err != nil || !d.Allowed || d.Remaining != 1 {
			t.Fatalf("first request of another id: %+v, %v; want allowed, 1 remaining", d, err)
		}
	})
}

func TestLimiter_ZeroLimit_Unlimited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() Limiter) {
		lim := open()
		for _, l := range []Limit{{}, {Requests: 0, Window: time.Minute}} {
			for i := range 500 {
				d, err := lim.Allow(context.Background(), "key-1", l)
				if err != nil || !d.Allowed || d.Remaining != -1 {
					t.Fatalf("%+v, request %d: %+v, %v; want allowed, Remaining -1", l, i+1, d, err)
				}
			}
		}
	})
}

func TestLimiter_InvalidLimit_Refused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() Limiter) {
		lim := open()
		for _, l := range []Limit{
			{Requests: -1, Window: time.Minute},
			{Requests: 5},
			{Requests: 5, Window: -time.Second},
		} {
			d, err := lim.Allow(context.Background(), "key-1", l)
			if !errors.Is(err, ErrInvalidLimit) || d.Allowed {
				t.Errorf("%+v: %+v, %v; want ErrInvalidLimit and not allowed", l, d, err)
			}
		}
	})
}

func TestLimiter_ManyIDsConcurrently_EachGetsItsLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() Limiter) {
		lim := open()
		l := Limit{Requests: 4, Window: time.Minute}
		const ids, perID = 20, 10
		counts := make([]atomic.Int64, ids)
		var wg sync.WaitGroup
		for i := range ids * perID {
			wg.Go(func() {
				id := i % ids
				d, err := lim.Allow(context.Background(), "key-"+strconv.Itoa(id), l)
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if d.Allowed {
					counts[id].Add(1)
				}
			})
		}
		wg.Wait()
		for id := range counts {
			if got := counts[id].Load(); got != 4 {
				t.Errorf("key-%d: %d of %d allowed, want 4", id, got, perID)
			}
		}
	})
}
