// Package retention deletes audit events and usage counters older than the operator
// keeps them (KEYWARD_AUDIT_RETENTION, KEYWARD_USAGE_RETENTION), in small batches, on
// one replica at a time (a lease in the store), and audits each run that deleted
// something. It deletes nothing else.
package retention

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
)

const (
	leaseName = "retention"
	// batch rows per statement, a pause between statements so that the exchange path
	// and the flushes get the database in between, and at most maxBatches per table and
	// run: a backlog (a first run on a year of rows) is worked off over several runs.
	batch      = 1000
	pause      = 100 * time.Millisecond
	maxBatches = 500
	day        = 24 * time.Hour
)

// Store deletes the rows and holds the lease (models.Store).
type Store interface {
	PruneAudit(ctx context.Context, before time.Time, limit int) (int64, error)
	PruneUsage(ctx context.Context, beforeDay string, limit int) (int64, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Auditor records the run (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, a audit.Actor, action, targetType, targetID, ownerID string, details map[string]any)
}

// Counter counts the rows deleted, by table (metrics.Metrics); may be nil.
type Counter interface {
	Pruned(table string, n int64)
}

// Config wires a Job. Store is required.
type Config struct {
	Store Store
	Audit Auditor
	Count Counter
	Log   *zap.Logger
	Clock func() time.Time
	// AuditDays and UsageDays are how many days each is kept; 0 keeps it for ever.
	AuditDays, UsageDays int
	// Interval between runs (default an hour).
	Interval time.Duration
	// Holder names this replica in the lease.
	Holder string
	// Batch, Pause and MaxBatches override the package's (tests); a negative Pause is
	// none.
	Batch, MaxBatches int
	Pause             time.Duration
}

// Job prunes old rows.
type Job struct {
	cfg     Config
	log     *zap.Logger
	leading bool
}

// Pruned is what one run deleted.
type Pruned struct {
	Audit, Usage int64
	// Batches is how many delete statements the run made.
	Batches int
}

var actor = audit.Actor{ID: "keyward", Name: "keyward-retention"}

// New returns a Job; it makes no call until Run or RunOnce.
func New(cfg Config) *Job {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = batch
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = maxBatches
	}
	if cfg.Pause < 0 {
		cfg.Pause = 0
	} else if cfg.Pause == 0 {
		cfg.Pause = pause
	}
	return &Job{cfg: cfg, log: cfg.Log.With(zap.String("component", "retention"))}
}

// leaseTTL outlives a run and a missed one, so that a slow run keeps the lease; a
// replica that dies holding it is replaced after that long.
func (j *Job) leaseTTL() time.Duration { return 3 * j.cfg.Interval }

// Run prunes every Interval until ctx ends, and gives the lease up on the way out.
func (j *Job) Run(ctx context.Context) {
	if j.cfg.AuditDays == 0 && j.cfg.UsageDays == 0 {
		return
	}
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		_, _ = j.RunOnce(ctx)
		select {
		case <-ctx.Done():
			if j.leading {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = j.cfg.Store.ReleaseLease(rctx, leaseName, j.cfg.Holder)
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

// RunOnce prunes if this replica holds the lease, and says what it deleted and whether
// it held the lease. A run that deleted something is audited (retention.prune).
func (j *Job) RunOnce(ctx context.Context) (Pruned, bool) {
	now := j.cfg.Clock()
	ok, err := j.cfg.Store.AcquireLease(ctx, leaseName, j.cfg.Holder, j.leaseTTL(), now)
	if err != nil {
		j.log.Warn("retention lease not renewed", zap.Error(err))
		return Pruned{}, false
	}
	if ok != j.leading {
		j.log.Info("retention lease", zap.Bool("held", ok), zap.String("holder", j.cfg.Holder))
		j.leading = ok
	}
	if !ok {
		return Pruned{}, false
	}
	var p Pruned
	details := map[string]any{}
	if j.cfg.AuditDays > 0 {
		before := now.Add(-time.Duration(j.cfg.AuditDays) * day).UTC()
		p.Audit = j.prune(ctx, &p, "audit_events", func(ctx context.Context, limit int) (int64, error) {
			return j.cfg.Store.PruneAudit(ctx, before, limit)
		})
		details["audit_before"] = before.Format(time.RFC3339)
	}
	if j.cfg.UsageDays > 0 {
		// Counters are per UTC day: the day now-UsageDays falls on is kept whole.
		before := now.UTC().Add(-time.Duration(j.cfg.UsageDays) * day).Format(time.DateOnly)
		p.Usage = j.prune(ctx, &p, "key_usage", func(ctx context.Context, limit int) (int64, error) {
			return j.cfg.Store.PruneUsage(ctx, before, limit)
		})
		details["usage_before_day"] = before
	}
	if p.Audit+p.Usage > 0 {
		details["audit_events"], details["usage_counts"] = p.Audit, p.Usage
		j.log.Info("pruned old rows", zap.Int64("audit_events", p.Audit), zap.Int64("usage_counts", p.Usage))
		if j.cfg.Audit != nil {
			j.cfg.Audit.Record(ctx, actor, "retention.prune", "retention", leaseName, "", details)
		}
	}
	return p, true
}

// prune deletes a table's old rows batch by batch until a batch comes back short,
// MaxBatches were made or ctx ends.
func (j *Job) prune(ctx context.Context, p *Pruned, table string, del func(context.Context, int) (int64, error)) int64 {
	var total int64
	for i := 0; i < j.cfg.MaxBatches; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return total
			case <-time.After(j.cfg.Pause):
			}
		}
		n, err := del(ctx, j.cfg.Batch)
		p.Batches++
		if err != nil {
			j.log.Warn("pruning stopped; the next run goes on", zap.String("table", table), zap.Error(err))
			break
		}
		total += n
		if j.cfg.Count != nil && n > 0 {
			j.cfg.Count.Pruned(table, n)
		}
		if n < int64(j.cfg.Batch) {
			break
		}
	}
	return total
}
