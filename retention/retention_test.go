package retention_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/retention"
)

// The job runs on both backends of the store, each test on a store of its own (pruning
// deletes across owners).
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyward.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

func eachBackend(t *testing.T, run func(t *testing.T, s *models.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, err := models.Open(context.Background(), b.dsn(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			run(t, s)
		})
	}
}

const day = 24 * time.Hour

var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is the tests' moved clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newJob(s *models.Store, c *clock, holder string, edit func(*retention.Config)) *retention.Job {
	cfg := retention.Config{
		Store: s, Audit: audit.NewRecorder(s, nil, c.Now), Clock: c.Now,
		AuditDays: 30, UsageDays: 30, Holder: holder, Pause: -1,
	}
	if edit != nil {
		edit(&cfg)
	}
	return retention.New(cfg)
}

func addAudit(t *testing.T, s *models.Store, at ...time.Time) {
	t.Helper()
	for _, a := range at {
		ev := &models.AuditEvent{At: a, ActorID: "u", ActorName: "u", Action: "key.update", TargetType: "key",
			TargetID: uuid.NewString(), OwnerID: "owner"}
		if err := s.RecordAudit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func addUsage(t *testing.T, s *models.Store, keyID string, days ...time.Time) {
	t.Helper()
	counts := map[models.UsageKey]int64{}
	for _, d := range days {
		counts[models.UsageKey{KeyID: keyID, Day: d.UTC().Format(time.DateOnly), Outcome: "issued", Via: "token"}] = 1
	}
	if err := s.RecordUsage(context.Background(), models.UsageBatch{Counts: counts}); err != nil {
		t.Fatal(err)
	}
}

// events lists what the store holds, newest first, as the owner "owner" and the job's.
func events(t *testing.T, s *models.Store) (kept []time.Time, runs []models.AuditEvent) {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == "retention.prune" {
			runs = append(runs, e)
		} else {
			kept = append(kept, e.At)
		}
	}
	return kept, runs
}

func usageDays(t *testing.T, s *models.Store, keyID string) []string {
	t.Helper()
	rows, err := s.UsageByKey(context.Background(), keyID, "0000-00-00")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Day)
	}
	return out
}

func TestRunOnce_ClockMoved_OlderThanRetentionGo_InsideStay(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *models.Store) {
		c := &clock{now: start}
		ctx := context.Background()
		addAudit(t, s, start.Add(-31*day), start.Add(-30*day-time.Second), start.Add(-29*day), start.Add(-time.Hour))
		key := uuid.NewString()
		addUsage(t, s, key, start.Add(-31*day), start.Add(-30*day), start.Add(-29*day), start)
		job := newJob(s, c, "a", nil)

		p, held := job.RunOnce(ctx)
		if !held || p.Audit != 2 || p.Usage != 1 {
			t.Fatalf("first run = %+v, held %v; want 2 audit events and 1 usage counter", p, held)
		}
		kept, runs := events(t, s)
		if len(kept) != 2 || !kept[1].Equal(start.Add(-29*day)) {
			t.Fatalf("audit kept %v; want the 2 inside 30 days", kept)
		}
		// The day 30 days back is kept whole: counters are per day.
		if got := usageDays(t, s, key); len(got) != 3 || got[0] != "2026-05-02" {
			t.Fatalf("usage kept %v; want 2026-05-02 on", got)
		}
		if len(runs) != 1 || runs[0].TargetType != "retention" || runs[0].ActorID != "keyward" {
			t.Fatalf("runs audited: %+v; want one retention.prune", runs)
		}
		for _, want := range []string{`"audit_events":2`, `"usage_counts":1`, `"usage_before_day":"2026-05-02"`} {
			if !strings.Contains(runs[0].Details, want) {
				t.Errorf("run details %s; want %s", runs[0].Details, want)
			}
		}

		// Nothing more is old enough: nothing deleted, nothing audited.
		if p, _ := job.RunOnce(ctx); p.Audit+p.Usage != 0 {
			t.Fatalf("second run at the same time = %+v; want nothing", p)
		}
		if _, runs := events(t, s); len(runs) != 1 {
			t.Fatalf("a run that deleted nothing was audited: %d runs", len(runs))
		}

		// Two days on, the next oldest of each is out of the window.
		c.Add(2 * day)
		if p, _ := job.RunOnce(ctx); p.Audit != 1 || p.Usage != 2 {
			t.Fatalf("run two days on = %+v; want 1 audit event and 2 usage counters", p)
		}
		if kept, _ := events(t, s); len(kept) != 1 || !kept[0].Equal(start.Add(-time.Hour)) {
			t.Fatalf("audit kept %v; want the newest only", kept)
		}
		if got := usageDays(t, s, key); len(got) != 1 || got[0] != "2026-06-01" {
			t.Fatalf("usage kept %v; want 2026-06-01", got)
		}
	})
}

func TestRunOnce_RetentionZero_KeepsForEver(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *models.Store) {
		c := &clock{now: start}
		addAudit(t, s, start.Add(-3000*day))
		key := uuid.NewString()
		addUsage(t, s, key, start.Add(-3000*day))
		job := newJob(s, c, "a", func(cfg *retention.Config) { cfg.AuditDays, cfg.UsageDays = 0, 0 })
		if p, _ := job.RunOnce(context.Background()); p.Audit+p.Usage != 0 {
			t.Fatalf("run with retention 0 = %+v; want nothing deleted", p)
		}
		if kept, _ := events(t, s); len(kept) != 1 || len(usageDays(t, s, key)) != 1 {
			t.Fatal("rows deleted with retention 0")
		}
	})
}

func TestRunOnce_MoreRowsThanABatch_SeveralStatements_BoundedPerRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *models.Store) {
		c := &clock{now: start}
		var old []time.Time
		for i := range 10 {
			old = append(old, start.Add(-40*day-time.Duration(i)*time.Minute))
		}
		addAudit(t, s, old...)
		addAudit(t, s, start.Add(-day))
		job := newJob(s, c, "a", func(cfg *retention.Config) { cfg.Batch, cfg.MaxBatches, cfg.UsageDays = 3, 2, 0 })

		// A run makes at most 2 statements of 3 rows: the backlog goes over runs.
		p, _ := job.RunOnce(context.Background())
		if p.Audit != 6 || p.Batches != 2 {
			t.Fatalf("first run = %+v; want 6 events in 2 statements", p)
		}
		p, _ = job.RunOnce(context.Background())
		if p.Audit != 4 || p.Batches != 2 {
			t.Fatalf("second run = %+v; want the 4 left in 2 statements (3, then 1)", p)
		}
		if kept, runs := events(t, s); len(kept) != 1 || len(runs) != 2 {
			t.Fatalf("kept %v, %d runs audited; want the newest event and 2 runs", kept, len(runs))
		}

		// With the package's bounds, one run deletes a backlog of many batches.
		addAudit(t, s, old...)
		whole := newJob(s, c, "a", func(cfg *retention.Config) { cfg.Batch, cfg.UsageDays = 3, 0 })
		if p, _ := whole.RunOnce(context.Background()); p.Audit != 10 || p.Batches != 4 {
			t.Fatalf("run = %+v; want 10 events in 4 statements", p)
		}
	})
}

func TestRunOnce_TwoReplicas_OnlyTheLeaseHolderPrunes(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *models.Store) {
		c := &clock{now: start}
		ctx := context.Background()
		a, b := newJob(s, c, "replica-a", nil), newJob(s, c, "replica-b", nil)
		addAudit(t, s, start.Add(-40*day), start.Add(-41*day))

		// At once: exactly one holds the lease and prunes.
		var wg sync.WaitGroup
		results := make([]retention.Pruned, 2)
		held := make([]bool, 2)
		for i, j := range []*retention.Job{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); results[i], held[i] = j.RunOnce(ctx) }()
		}
		wg.Wait()
		if held[0] == held[1] {
			t.Fatalf("held = %v; want exactly one holder", held)
		}
		winner, loser := a, b
		if held[1] {
			winner, loser = b, a
			results[0], results[1] = results[1], results[0]
		}
		if results[0].Audit != 2 || results[1] != (retention.Pruned{}) {
			t.Fatalf("holder pruned %+v, other %+v; want 2 and nothing", results[0], results[1])
		}

		// While the lease lasts, the other replica deletes nothing.
		addAudit(t, s, start.Add(-50*day))
		c.Add(time.Hour)
		if p, held := loser.RunOnce(ctx); held || p != (retention.Pruned{}) {
			t.Fatalf("other replica = %+v, held %v; want nothing", p, held)
		}
		if kept, _ := events(t, s); len(kept) != 1 {
			t.Fatalf("kept %v; want the old event the other replica may not delete", kept)
		}
		if p, held := winner.RunOnce(ctx); !held || p.Audit != 1 {
			t.Fatalf("holder = %+v, held %v; want 1", p, held)
		}

		// A holder that stops gives the lease up; one that dies loses it when it expires.
		rctx, cancel := context.WithCancel(ctx)
		cancel()
		winner.Run(rctx)
		if _, held := loser.RunOnce(ctx); !held {
			t.Fatal("the lease was not given up when its holder stopped")
		}
		c.Add(4 * time.Hour)
		if _, held := winner.RunOnce(ctx); !held {
			t.Fatal("the lease of a holder gone quiet did not expire")
		}
	})
}

// The audit export answers for what remains: the kept events and the run's own.
func TestRunOnce_AuditExport_AnswersForWhatRemains(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *models.Store) {
		c := &clock{now: start}
		ctx := context.Background()
		addAudit(t, s, start.Add(-35*day), start.Add(-30*day-time.Hour), start.Add(-29*day), start.Add(-time.Hour))
		if p, _ := newJob(s, c, "a", nil).RunOnce(ctx); p.Audit != 2 {
			t.Fatalf("run = %+v; want 2", p)
		}
		r := audit.NewReader(s)
		exp, err := r.Export(audit.Actor{ID: "admin", Admin: true}, audit.Filter{
			Since: start.Add(-30*day - 2*time.Hour).Format(time.RFC3339), Until: start.Add(time.Second).Format(time.RFC3339),
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			evs, err := exp.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				got = append(got, e.Action+"@"+e.At.Format(time.RFC3339))
			}
		}
		want := []string{
			"retention.prune@" + start.Format(time.RFC3339),
			"key.update@" + start.Add(-time.Hour).Format(time.RFC3339),
			"key.update@" + start.Add(-29*day).Format(time.RFC3339),
		}
		if len(got) != len(want) {
			t.Fatalf("export = %v; want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("export = %v; want %v", got, want)
			}
		}
	})
}
