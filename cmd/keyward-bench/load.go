package main

import (
	"context"
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
	type snap struct {
		cpu     cpuSample
		metrics []keywardMetrics
	}
	take := func() snap {
		s := snap{cpu: b.cpuSnapshot()}
		for _, t := range targets {
			s.metrics = append(s.metrics, b.scrape(ctx, t))
		}
		return s
	}
	fromSnap := make(chan snap, 1)
	snapTimer := time.AfterFunc(warmup, func() { fromSnap <- take() })

	n := len(targets)
	var (
		counted  atomic.Int64
		stopped  atomic.Bool
		mu       sync.Mutex
		all      = make([][]time.Duration, n)
		errs     = make([]int64, n)
		lastErr  = make([]string, n)
		lastDone time.Time
		wg       sync.WaitGroup
	)
	capacity := int(min(b.c.maxRequests/int64(concurrency*n)+1, 1<<16))
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples := make([][]time.Duration, n)
			for k := range samples {
				samples[k] = make([]time.Duration, 0, capacity)
			}
			myErrs, myErr := make([]int64, n), make([]string, n)
			var done time.Time
			for i := w; ; i++ {
				t0 := time.Now()
				if !t0.Before(stopAt) || stopped.Load() || workerCtx.Err() != nil {
					break
				}
				k := i % n
				err := targets[k].do(workerCtx, b.client)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue // warm-up
				}
				if err != nil {
					myErrs[k]++
					myErr[k] = err.Error()
					continue
				}
				if counted.Add(1) > b.c.maxRequests {
					stopped.Store(true)
					break
				}
				samples[k] = append(samples[k], t1.Sub(t0))
				done = t1
			}
			mu.Lock()
			for k := range n {
				all[k] = append(all[k], samples[k]...)
				errs[k] += myErrs[k]
				if myErr[k] != "" {
					lastErr[k] = myErr[k]
				}
			}
			if done.After(lastDone) {
				lastDone = done
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	var from, to snap
	if !snapTimer.Stop() { // it ran or runs: the warm-up is over
		from, to = <-fromSnap, take()
	}
	cpu := cpuUse(from.cpu, to.cpu)
	results := make([]result, n)
	for k, t := range targets {
		slices.Sort(all[k])
		results[k] = result{name: t.name, samples: all[k], errors: errs[k], lastError: lastErr[k], cpu: cpu}
		if len(from.metrics) == n && len(to.metrics) == n {
			results[k].metrics = to.metrics[k].minus(from.metrics[k])
		}
		if !lastDone.IsZero() {
			results[k].elapsed = lastDone.Sub(measureFrom)
		}
	}
	return results
}
