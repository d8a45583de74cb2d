package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one row's measurement.
type result struct {
	key         string
	name        string
	concurrency int
	samples     []time.Duration // latencies of successful measured requests, sorted
	errors      int64
	lastError   string
	elapsed     time.Duration
	metrics     keywardMetrics // Keyward's own counters over the measured window
	cpu         []float64      // cores busy per watched process, then the generator itself
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.samples)) / r.elapsed.Seconds()
}

// percentile is the nearest-rank percentile of the sorted samples.
func (r result) percentile(p float64) time.Duration {
	n := len(r.samples)
	if n == 0 {
		return 0
	}
	i := int(float64(n)*p+0.999999) - 1
	return r.samples[min(max(i, 0), n-1)]
}

// load runs concurrency workers over targets for warmup, then for measure, and gives
// one result per target. Each worker sends the targets' requests in turn (round robin),
// so that with several targets they meet the same server state: the concurrency-1
// probe alternates the direct JWT grant and Keyward so. Only requests started after
// the warm-up count, each timed from before it is built to after its body is read. A
// target's time runs from the end of the warm-up to the completion of the last counted
// request; with n targets its rate is its own share. At most c.maxRequests are
// counted, in all.
func (b *bench) load(ctx context.Context, targets []*target, concurrency int, warmup, measure time.Duration) []result {
	start := time.Now()
	measureFrom, stopAt := start.Add(warmup), start.Add(warmup+measure)
	workerCtx, release := context.WithDeadline(ctx, stopAt.Add(b.c.timeout))
	defer release()

	// CPU of the watched processes and Keyward's counters over the measured window.
	take := func() snapshot {
		s := snapshot{cpu: b.cpuSnapshot()}
		for _, t := range targets {
			s.metrics = append(s.metrics, b.scrape(ctx, t))
		}
		return s
	}
	fromSnap := make(chan snapshot, 1)
	snapTimer := time.AfterFunc(warmup, func() { fromSnap <- take() })

	n := len(targets)
	all := newTally(n, 0)
	run := &loadRun{targets: targets, measureFrom: measureFrom, stopAt: stopAt,
		capacity: int(min(b.c.maxRequests/int64(concurrency*n)+1, 1<<16)), maxRequests: b.c.maxRequests}
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			all.merge(run.work(workerCtx, b.client, w))
		}()
	}
	wg.Wait()
	var from, to snapshot
	if !snapTimer.Stop() { // it ran or runs: the warm-up is over
		from, to = <-fromSnap, take()
	}
	cpu := cpuUse(from.cpu, to.cpu)
	results := make([]result, n)
	for k, t := range targets {
		slices.Sort(all.samples[k])
		results[k] = result{name: t.name, samples: all.samples[k], errors: all.errs[k], lastError: all.lastErr[k], cpu: cpu}
		if len(from.metrics) == n && len(to.metrics) == n {
			results[k].metrics = to.metrics[k].minus(from.metrics[k])
		}
		if !all.lastDone.IsZero() {
			results[k].elapsed = all.lastDone.Sub(measureFrom)
		}
	}
	return results
}

// snapshot is the CPU counters and Keyward's metrics at one moment.
type snapshot struct {
	cpu     cpuSample
	metrics []keywardMetrics
}

// tally is what was measured, per target: one worker's, or all of them merged.
type tally struct {
	mu       sync.Mutex
	samples  [][]time.Duration
	errs     []int64
	lastErr  []string
	lastDone time.Time
}

func newTally(n, capacity int) *tally {
	t := &tally{samples: make([][]time.Duration, n), errs: make([]int64, n), lastErr: make([]string, n)}
	for k := range t.samples {
		t.samples[k] = make([]time.Duration, 0, capacity)
	}
	return t
}

// merge adds a worker's tally (which no one else touches any more).
func (t *tally) merge(w *tally) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.samples {
		t.samples[k] = append(t.samples[k], w.samples[k]...)
		t.errs[k] += w.errs[k]
		if w.lastErr[k] != "" {
			t.lastErr[k] = w.lastErr[k]
		}
	}
	if w.lastDone.After(t.lastDone) {
		t.lastDone = w.lastDone
	}
}

// loadRun is one measured load: the targets round robin, a warm-up that is not
// counted, and a bound on the requests counted over all workers.
type loadRun struct {
	targets             []*target
	measureFrom, stopAt time.Time
	capacity            int
	maxRequests         int64
	counted             atomic.Int64
	stopped             atomic.Bool
}

// work is one worker: it starts at target first and stops at stopAt, on the request
// bound, or when ctx ends.
func (r *loadRun) work(ctx context.Context, client *http.Client, first int) *tally {
	n := len(r.targets)
	mine := newTally(n, r.capacity)
	for i := first; ; i++ {
		t0 := time.Now()
		if !t0.Before(r.stopAt) || r.stopped.Load() || ctx.Err() != nil {
			break
		}
		k := i % n
		err := r.targets[k].do(ctx, client)
		t1 := time.Now()
		if t0.Before(r.measureFrom) {
			continue // warm-up
		}
		if err != nil {
			mine.errs[k]++
			mine.lastErr[k] = err.Error()
			continue
		}
		if r.counted.Add(1) > r.maxRequests {
			r.stopped.Store(true)
			break
		}
		mine.samples[k] = append(mine.samples[k], t1.Sub(t0))
		mine.lastDone = t1
	}
	return mine
}
