package models

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UsageCount is how many exchanges of one key ended with one outcome on one UTC day.
type UsageCount struct {
	KeyID   string `gorm:"primaryKey;size:36"`
	Day     string `gorm:"primaryKey;size:10"` // YYYY-MM-DD, UTC
	Outcome string `gorm:"primaryKey;size:32"` // issued, rate_limited, ip_denied, expired, …
	Count   int64  `gorm:"not null"`
}

// TableName fixes the table name.
func (UsageCount) TableName() string { return "key_usage" }

// UsageKey names one counter.
type UsageKey struct{ KeyID, Day, Outcome string }

// KeyUse is the last successful use of a key.
type KeyUse struct {
	At time.Time
	IP string
}

// UsageBatch is what the exchange path collected in memory since the last flush.
type UsageBatch struct {
	LastUsed map[string]KeyUse
	Counts   map[UsageKey]int64
}

// RecordUsage adds the counts and moves last-use times forward, in one transaction.
func (s *Store) RecordUsage(ctx context.Context, b UsageBatch) error {
	if len(b.LastUsed) == 0 && len(b.Counts) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One lock order for every batch, so that concurrent flushes cannot deadlock.
		for _, id := range slices.Sorted(maps.Keys(b.LastUsed)) {
			cid, ok := canonicalID(id)
			use := b.LastUsed[id]
			if !ok || !storable(use.IP) {
				continue
			}
			at := dbTime(use.At)
			err := tx.Model(&Key{}).
				Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", cid, at).
				UpdateColumns(map[string]any{"last_used_at": at, "last_used_ip": use.IP}).Error
			if err != nil {
				return err
			}
		}
		keys := slices.SortedFunc(maps.Keys(b.Counts), func(a, b UsageKey) int {
			if a.KeyID != b.KeyID {
				return strings.Compare(a.KeyID, b.KeyID)
			}
			if a.Day != b.Day {
				return strings.Compare(a.Day, b.Day)
			}
			return strings.Compare(a.Outcome, b.Outcome)
		})
		for _, k := range keys {
			cid, ok := canonicalID(k.KeyID)
			if !ok || !storable(k.Day) || !storable(k.Outcome) {
				continue
			}
			row := UsageCount{KeyID: cid, Day: k.Day, Outcome: k.Outcome, Count: b.Counts[k]}
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "key_id"}, {Name: "day"}, {Name: "outcome"}},
				DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("key_usage.count + ?", row.Count)}),
			}).Create(&row).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("models: record usage: %w", err)
	}
	return nil
}

// UsageByKey returns the key's counters from sinceDay (YYYY-MM-DD) on, oldest first.
func (s *Store) UsageByKey(ctx context.Context, keyID, sinceDay string) ([]UsageCount, error) {
	out := []UsageCount{}
	cid, ok := canonicalID(keyID)
	if !ok {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("key_id = ? AND day >= ?", cid, sinceDay).
		Order("day ASC").Order("outcome ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: usage by key: %w", err)
	}
	return out, nil
}
