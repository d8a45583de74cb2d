package models

import (
	"context"
	"fmt"
	"time"
)

// Retention: deleting audit events and usage counters older than the operator keeps
// them, a bounded batch per statement so that no statement holds locks for long
// (the retention package runs them on one replica at a time).

// usageDayIndex lets a prune find old days without reading every counter: key_usage's
// primary key starts with the key id.
const usageDayIndex = `CREATE INDEX IF NOT EXISTS idx_key_usage_day ON key_usage (day)`

// PruneAudit deletes at most limit audit events whose time is before before, oldest
// first, in one statement, and returns how many it deleted.
func (s *Store) PruneAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	res := s.db.WithContext(ctx).Exec(`DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE at < ? ORDER BY at LIMIT ?)`, dbTime(before), limit)
	if res.Error != nil {
		return 0, fmt.Errorf("models: prune audit: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// PruneUsage deletes at most limit usage counters of days before beforeDay
// (YYYY-MM-DD, UTC), oldest first, in one statement, and returns how many it deleted.
func (s *Store) PruneUsage(ctx context.Context, beforeDay string, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	if _, err := time.Parse(time.DateOnly, beforeDay); err != nil {
		return 0, fmt.Errorf("models: prune usage: the day %q is not YYYY-MM-DD", beforeDay)
	}
	res := s.db.WithContext(ctx).Exec(`DELETE FROM key_usage WHERE (key_id, day, outcome, via) IN
		(SELECT key_id, day, outcome, via FROM key_usage WHERE day < ? ORDER BY day LIMIT ?)`, beforeDay, limit)
	if res.Error != nil {
		return 0, fmt.Errorf("models: prune usage: %w", res.Error)
	}
	return res.RowsAffected, nil
}
