package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func allow(t *testing.T, m *Memory, id string, l Limit) Decision {
	t.Helper()
	d, err := m.Allow(context.Background(), id, l)
	if err != nil {
		t.Fatalf("Allow(%s, %+v): %v", id, l, err)
	}
	return d
}

func TestMemory_ExactlyNPass_ThenOneMorePerWindowShare(t *testing.T) {
	for _, l := range []Limit{
		{Requests: 50, Window: time.Minute},
		{Requests: 7, Window: time.Minute}, // a share of 8.571428571…s
		{Requests: 3, Window: time.Second},
		{Requests: 1000, Window: time.Hour},
		{Requests: 125, Window: 90 * time.Second}, // float rounding leaves 0.9999… at the exact share
		{Requests: 1, Window: 24 * time.Hour},
	} {
		t.Run(fmt.Sprintf("%d per %v", l.Requests, l.Window), func(t *testing.T) {
			c := testkit.NewClock(t0)
			m := NewMemory(c.Now)
			for i := range l.Requests {
				if d := allow(t, m, "k", l); !d.Allowed {
					t.Fatalf("request %d of %d denied", i+1, l.Requests)
				}
			}
			d := allow(t, m, "k", l)
			share := l.Window / time.Duration(l.Requests)
			if d.Allowed || d.RetryAfter < share || d.RetryAfter > share+time.Microsecond {
				t.Fatalf("request %d: %+v; want denied, RetryAfter %v", l.Requests+1, d, share)
			}
			retry := d.RetryAfter

			c.Advance(retry - time.Microsecond)
			if d := allow(t, m, "k", l); d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Microsecond {
				t.Fatalf("1µs before RetryAfter: %+v; want denied, RetryAfter ≤ 1µs", d)
			}
			c.Advance(time.Microsecond)
			if d := allow(t, m, "k", l); !d.Allowed || d.Remaining != 0 {
				t.Fatalf("at RetryAfter: %+v; want allowed, 0 remaining", d)
			}
			if d := allow(t, m, "k", l); d.Allowed {
				t.Fatal("second request at RetryAfter allowed; only one token came back")
			}

			c.Advance(l.Window)
			for i := range l.Requests {
				if d := allow(t, m, "k", l); !d.Allowed {
					t.Fatalf("after a quiet window, request %d of %d denied", i+1, l.Requests)
				}
			}
		})
	}
}

func TestMemory_LimitChanged_ReplacesBucket(t *testing.T) {
	m := NewMemory(testkit.NewClock(t0).Now)
	two, five := Limit{Requests: 2, Window: time.Minute}, Limit{Requests: 5, Window: time.Minute}
	allow(t, m, "k", two)
	allow(t, m, "k", two)
	if d := allow(t, m, "k", two); d.Allowed {
		t.Fatal("3rd request at 2/min allowed")
	}
	if d := allow(t, m, "k", five); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("first request under a new limit: %+v; want allowed, 4 remaining", d)
	}
	if d := allow(t, m, "k", two); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("back to the old limit: %+v; want a fresh bucket, 1 remaining", d)
	}
}

func TestMemory_Sweep_DropsFullBucketsKeepsBusyOnes(t *testing.T) {
	c := testkit.NewClock(t0)
	m := NewMemory(c.Now)
	perMinute := Limit{Requests: 10, Window: time.Minute}
	for i := range 1000 {
		allow(t, m, "idle-"+strconv.Itoa(i), perMinute)
	}
	perHour := Limit{Requests: 1, Window: time.Hour}
	allow(t, m, "busy", perHour)
	if got := m.size(); got != 1001 {
		t.Fatalf("%d ids with state, want 1001", got)
	}

	// Idle buckets are full again after 6 s; busy's needs an hour.
	c.Advance(sweepEvery)
	allow(t, m, "trigger", perMinute)
	if got := m.size(); got != 2 {
		t.Fatalf("after a sweep, %d ids with state, want 2 (busy and trigger)", got)
	}
	if d := allow(t, m, "busy", perHour); d.Allowed {
		t.Fatal("busy was swept with its state: its 2nd request within the hour passed")
	}
	if d := allow(t, m, "idle-7", perMinute); !d.Allowed || d.Remaining != 9 {
		t.Fatalf("a swept id: %+v; want a full bucket, 9 remaining", d)
	}
}

func TestMemory_ZeroLimit_DropsState(t *testing.T) {
	m := NewMemory(testkit.NewClock(t0).Now)
	allow(t, m, "k", Limit{Requests: 1, Window: time.Hour})
	allow(t, m, "k", Limit{})
	if got := m.size(); got != 0 {
		t.Fatalf("%d ids with state after the key became unlimited, want 0", got)
	}
}

// With a moving clock, sweeps and forget running among the requests (run with -race),
// no id that was never forgotten gets more than its burst plus what the elapsed time
// refilled.
func TestMemory_ConcurrentWithMovingClock_NeverOverAllows(t *testing.T) {
	c := testkit.NewClock(t0)
	m := NewMemory(c.Now)
	l := Limit{Requests: 5, Window: time.Minute}
	const ids, workers, perWorker = 8, 16, 200
	step := 100 * time.Millisecond
	counts := make([]atomic.Int64, ids)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if w == 0 {
					c.Advance(step)
				}
				if i%50 == 0 {
					m.forget("forgotten")
				}
				id := (w + i) % ids
				_, _ = m.Allow(context.Background(), "forgotten", l)
				if d, err := m.Allow(context.Background(), "key-"+strconv.Itoa(id), l); err == nil && d.Allowed {
					counts[id].Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := c.Now().Sub(t0)
	bound := int64(l.Requests) + int64(elapsed/(l.Window/time.Duration(l.Requests)))
	for id := range counts {
		if got := counts[id].Load(); got > bound || got < int64(l.Requests) {
			t.Errorf("key-%d: %d allowed over %v, want between %d and %d", id, got, elapsed, l.Requests, bound)
		}
	}
}
