package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// Pruning deletes across owners, so each backend gets a store of its own.
func TestPrune(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			t.Run("PruneAudit_OlderGo_NewerStay_LimitBounds", func(t *testing.T) { testPruneAudit(t, s) })
			t.Run("PruneUsage_OlderDaysGo_NewerStay_LimitBounds", func(t *testing.T) { testPruneUsage(t, s) })
		})
	}
}

func testPruneAudit(t *testing.T, s *models.Store) {
	ctx := context.Background()
	cut := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	owner := newOwner()
	// 5 before the cut (one a microsecond before), 3 at or after it.
	times := []time.Duration{-72 * time.Hour, -48 * time.Hour, -24 * time.Hour, -time.Hour, -time.Microsecond, 0, time.Microsecond, time.Hour}
	for _, d := range times {
		ev := &models.AuditEvent{At: cut.Add(d), ActorID: "a", ActorName: "a", Action: "key.create", TargetType: "key",
			TargetID: uuid.NewString(), OwnerID: owner}
		if err := s.RecordAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneAudit(ctx, cut, 2)
	if err != nil || n != 2 {
		t.Fatalf("PruneAudit(limit 2) = %d, %v; want 2", n, err)
	}
	left := auditTimes(t, s, owner)
	if len(left) != 6 || !left[len(left)-1].Equal(cut.Add(-24*time.Hour)) {
		t.Fatalf("after one batch of 2: %v; want the 2 oldest gone", left)
	}
	if n, err = s.PruneAudit(ctx, cut, 100); err != nil || n != 3 {
		t.Fatalf("PruneAudit(limit 100) = %d, %v; want the 3 older left", n, err)
	}
	left = auditTimes(t, s, owner)
	if len(left) != 3 || !left[len(left)-1].Equal(cut) {
		t.Fatalf("left %v; want the 3 at or after %v", left, cut)
	}
	if n, err = s.PruneAudit(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("PruneAudit again = %d, %v; want 0", n, err)
	}
}

func auditTimes(t *testing.T, s *models.Store, owner string) []time.Time {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AuditFilter{OwnerID: owner, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, e := range evs {
		out = append(out, e.At)
	}
	return out
}

func testPruneUsage(t *testing.T, s *models.Store) {
	ctx := context.Background()
	key := mustCreate(t, s, newKey(newOwner()))
	counts := map[models.UsageKey]int64{}
	for _, day := range []string{"2026-01-01", "2026-01-02", "2026-02-28", "2026-03-01", "2026-03-02"} {
		for _, o := range []string{"issued", "rate_limited"} {
			counts[models.UsageKey{KeyID: key.ID, Day: day, Outcome: o, Via: "token"}] = 1
			counts[models.UsageKey{KeyID: key.ID, Day: day, Outcome: o, Via: "forward_auth"}] = 1
		}
	}
	if err := s.RecordUsage(ctx, models.UsageBatch{Counts: counts}); err != nil {
		t.Fatal(err)
	}
	// 3 days of 4 counters before 2026-03-01: 12 rows.
	n, err := s.PruneUsage(ctx, "2026-03-01", 5)
	if err != nil || n != 5 {
		t.Fatalf("PruneUsage(limit 5) = %d, %v; want 5", n, err)
	}
	rows, _ := s.UsageByKey(ctx, key.ID, "0000-00-00")
	if len(rows) != 15 || rows[0].Day != "2026-01-02" {
		t.Fatalf("after one batch of 5: %d rows from %v; want 15 from 2026-01-02 (oldest first)", len(rows), rows[0].Day)
	}
	if n, err = s.PruneUsage(ctx, "2026-03-01", 100); err != nil || n != 7 {
		t.Fatalf("PruneUsage(limit 100) = %d, %v; want the 7 older left", n, err)
	}
	rows, _ = s.UsageByKey(ctx, key.ID, "0000-00-00")
	if len(rows) != 8 || rows[0].Day != "2026-03-01" {
		t.Fatalf("left %d rows from %v; want 8 from 2026-03-01", len(rows), rows)
	}
	if _, err := s.PruneUsage(ctx, "March", 100); err == nil {
		t.Fatal("PruneUsage(not a day): no error")
	}
}
