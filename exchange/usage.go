package exchange

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/models"
)

// UsageStore persists usage in batches.
type UsageStore interface {
	RecordUsage(ctx context.Context, b models.UsageBatch) error
}

// Usage counts exchanges per key, day and outcome, and keeps each key's last use, in
// memory; Run writes them in one batch per interval, so the exchange path never
// writes to the database. A crash loses at most one interval of usage.
type Usage struct {
	store    UsageStore
	log      *zap.Logger
	interval time.Duration

	mu       sync.Mutex
	lastUsed map[string]models.KeyUse
	counts   map[models.UsageKey]int64
}

// NewUsage returns a recorder flushing every interval once Run is called.
func NewUsage(store UsageStore, log *zap.Logger, interval time.Duration) *Usage {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	u := &Usage{store: store, log: log, interval: interval}
	u.reset()
	return u
}

func (u *Usage) reset() {
	u.lastUsed = map[string]models.KeyUse{}
	u.counts = map[models.UsageKey]int64{}
}

// Record counts one exchange of key id; a success also moves its last use.
func (u *Usage) Record(id string, outcome Outcome, ip string, at time.Time) {
	if u == nil || id == "" {
		return
	}
	day := at.UTC().Format(time.DateOnly)
	u.mu.Lock()
	u.counts[models.UsageKey{KeyID: id, Day: day, Outcome: string(outcome)}]++
	if outcome == OutcomeIssued && at.After(u.lastUsed[id].At) {
		u.lastUsed[id] = models.KeyUse{At: at, IP: ip}
	}
	u.mu.Unlock()
}

// Flush writes what is pending. On failure the batch is merged back for the next flush.
func (u *Usage) Flush(ctx context.Context) error {
	u.mu.Lock()
	batch := models.UsageBatch{LastUsed: u.lastUsed, Counts: u.counts}
	u.reset()
	u.mu.Unlock()
	if len(batch.LastUsed) == 0 && len(batch.Counts) == 0 {
		return nil
	}
	if err := u.store.RecordUsage(ctx, batch); err != nil {
		u.mu.Lock()
		for k, n := range batch.Counts {
			u.counts[k] += n
		}
		for id, use := range batch.LastUsed {
			if use.At.After(u.lastUsed[id].At) {
				u.lastUsed[id] = use
			}
		}
		u.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every interval until ctx ends, then flushes once more.
func (u *Usage) Run(ctx context.Context) {
	tick := time.NewTicker(u.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := u.Flush(ctx); err != nil {
				u.log.Warn("usage flush failed; will retry", zap.Error(err))
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := u.Flush(final); err != nil {
				u.log.Warn("final usage flush failed", zap.Error(err))
			}
			cancel()
			return
		}
	}
}
