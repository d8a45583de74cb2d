package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UsageCount is how many exchanges of one key, through one route, ended with one
// outcome on one UTC day.
type UsageCount struct {
	KeyID   string `gorm:"primaryKey;size:36"`
	Day     string `gorm:"primaryKey;size:10"` // YYYY-MM-DD, UTC
	Outcome string `gorm:"primaryKey;size:32"` // issued, rate_limited, ip_denied, expired, …
	Via     string `gorm:"primaryKey;size:16"` // the route: token (POST /v1/token) or forward_auth
	Count   int64  `gorm:"not null"`
}

// TableName fixes the table name.
func (UsageCount) TableName() string { return "key_usage" }

// usageViaBeforeRoutes is the route of counters that name none: those of releases
// before the route was counted, when POST /v1/token was the only one.
const usageViaBeforeRoutes = "token"

// UsageKey names one counter; an empty Via is usageViaBeforeRoutes.
type UsageKey struct{ KeyID, Day, Outcome, Via string }

// KeyUse is the last successful use of a key.
type KeyUse struct {
	At time.Time
	IP string
}

// UsageBatch is what the exchange path collected in memory since the last flush.
type UsageBatch struct {
	// ID, when set, makes the batch count once however often it is recorded: a flush
	// whose answer was lost (a timeout during commit) is retried with its ID.
	ID       string
	LastUsed map[string]KeyUse
	Counts   map[UsageKey]int64
}

// UsageFlush is a batch already recorded (UsageBatch.ID), kept for a day.
type UsageFlush struct {
	ID string    `gorm:"primaryKey;size:36"`
	At time.Time `gorm:"not null;index"`
}

// TableName fixes the table name.
func (UsageFlush) TableName() string { return "usage_flushes" }

// usageFlushKept is how long a batch ID is remembered: far longer than any retry.
const usageFlushKept = 24 * time.Hour

// RecordUsage adds the counts and moves last-use times forward, in one transaction;
// a batch whose ID was recorded already is not counted again.
func (s *Store) RecordUsage(ctx context.Context, b UsageBatch) error {
	if len(b.LastUsed) == 0 && len(b.Counts) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if b.ID != "" {
			now := dbTime(time.Now())
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&UsageFlush{ID: b.ID, At: now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return errBatchRecorded
			}
			if err := tx.Where("at < ?", now.Add(-usageFlushKept)).Delete(&UsageFlush{}).Error; err != nil {
				return err
			}
		}
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
			if a.Outcome != b.Outcome {
				return strings.Compare(a.Outcome, b.Outcome)
			}
			return strings.Compare(a.Via, b.Via)
		})
		for _, k := range keys {
			cid, ok := canonicalID(k.KeyID)
			if !ok || !storable(k.Day) || !storable(k.Outcome) || !storable(k.Via) {
				continue
			}
			via := k.Via
			if via == "" {
				via = usageViaBeforeRoutes
			}
			row := UsageCount{KeyID: cid, Day: k.Day, Outcome: k.Outcome, Via: via, Count: b.Counts[k]}
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "key_id"}, {Name: "day"}, {Name: "outcome"}, {Name: "via"}},
				DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("key_usage.count + ?", row.Count)}),
			}).Create(&row).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errBatchRecorded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("models: record usage: %w", err)
	}
	return nil
}

var errBatchRecorded = errors.New("the batch was recorded already")

// UsageByKey returns the key's counters from sinceDay (YYYY-MM-DD) on, oldest first.
func (s *Store) UsageByKey(ctx context.Context, keyID, sinceDay string) ([]UsageCount, error) {
	out := []UsageCount{}
	cid, ok := canonicalID(keyID)
	if !ok {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("key_id = ? AND day >= ?", cid, sinceDay).
		Order("day ASC").Order("outcome ASC").Order("via ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: usage by key: %w", err)
	}
	return out, nil
}
