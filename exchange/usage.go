package exchange

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/keyward/keyward/models"
)

// UsageStore persists usage in batches.
type UsageStore interface {
	RecordUsage(ctx context.Context, b models.UsageBatch) error
}

// Usage counts exchanges per key, day, outcome and route (Request.Via), and keeps each key's last use, in
// memory; Run writes them in one batch per interval, so the exchange path never
// writes to the database. A crash loses at most one interval of usage.
type Usage struct {
	store    UsageStore
	log      *zap.Logger
	interval time.Duration

	flushMu sync.Mutex // one flush at a time: the unsure batch is retried in order

	mu       sync.Mutex
	lastUsed map[string]models.KeyUse
	counts   map[models.UsageKey]int64
	// unsure is a batch whose recording failed: retried as it is, under its ID,
	// before anything newer, so that it counts exactly once whether or not the failed
	// attempt committed.
	unsure *models.UsageBatch
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

// Record counts one exchange of key id through route via (ViaToken, ViaForwardAuth);
// a success also moves its last use.
func (u *Usage) Record(id string, outcome Outcome, via, ip string, at time.Time) {
	if u == nil || id == "" {
		return
	}
	day := at.UTC().Format(time.DateOnly)
	u.mu.Lock()
	u.counts[models.UsageKey{KeyID: id, Day: day, Outcome: string(outcome), Via: via}]++
	if outcome == OutcomeIssued && at.After(u.lastUsed[id].At) {
		u.lastUsed[id] = models.KeyUse{At: at, IP: ip}
	}
	u.mu.Unlock()
}

// Flush writes what is pending. A batch that fails is kept and retried under its ID
// at the next flush, before what came since.
func (u *Usage) Flush(ctx context.Context) error {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	if u.unsure != nil {
		if err := u.store.RecordUsage(ctx, *u.unsure); err != nil {
			return err
		}
		u.unsure = nil
	}
	u.mu.Lock()
	batch := models.UsageBatch{ID: uuid.NewString(), LastUsed: u.lastUsed, Counts: u.counts}
	u.reset()
	u.mu.Unlock()
	if len(batch.LastUsed) == 0 && len(batch.Counts) == 0 {
		return nil
	}
	if err := u.store.RecordUsage(ctx, batch); err != nil {
		u.unsure = &batch
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
			// Not cut short by the stop: a flush interrupted mid-commit would leave its
			// batch unsure until the next start.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := u.Flush(fctx); err != nil {
				u.log.Warn("usage flush failed; will retry", zap.Error(err))
			}
			cancel()
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
