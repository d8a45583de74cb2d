package exchange

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// LastUsedStore persists last-use times in batches.
type LastUsedStore interface {
	TouchLastUsed(ctx context.Context, lastUsed map[string]time.Time) error
}

// LastUsed keeps each key's last use in memory and writes them in one batch per
// interval, so the exchange hot path never writes to the database. A crash loses at
// most one interval of last-use times.
type LastUsed struct {
	store    LastUsedStore
	log      *zap.Logger
	interval time.Duration

	mu      sync.Mutex
	pending map[string]time.Time
}

// NewLastUsed returns a tracker flushing every interval once Run is called.
func NewLastUsed(store LastUsedStore, log *zap.Logger, interval time.Duration) *LastUsed {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &LastUsed{store: store, log: log, interval: interval, pending: map[string]time.Time{}}
}

// Touch notes a use of key id at t.
func (l *LastUsed) Touch(id string, t time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if t.After(l.pending[id]) {
		l.pending[id] = t
	}
	l.mu.Unlock()
}

// Flush writes what is pending. On failure the times are kept for the next flush.
func (l *LastUsed) Flush(ctx context.Context) error {
	l.mu.Lock()
	batch := l.pending
	l.pending = map[string]time.Time{}
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := l.store.TouchLastUsed(ctx, batch); err != nil {
		for id, t := range batch {
			l.Touch(id, t)
		}
		return err
	}
	return nil
}

// Run flushes every interval until ctx ends, then flushes once more.
func (l *LastUsed) Run(ctx context.Context) {
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := l.Flush(ctx); err != nil {
				l.log.Warn("last-used flush failed; will retry", zap.Error(err))
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := l.Flush(final); err != nil {
				l.log.Warn("final last-used flush failed", zap.Error(err))
			}
			cancel()
			return
		}
	}
}
