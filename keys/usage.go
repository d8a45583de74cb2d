package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
)

// UsageReport is a key's usage as users see it.
type UsageReport struct {
	Key   Key
	Days  []DayUsage // oldest first, every day of the period, zeros included
	Month UsageTotals
	Total UsageTotals
}

// DayUsage counts one UTC day.
type DayUsage struct {
	Date string
	UsageTotals
}

// UsageCounts are successes and denials by reason.
type UsageCounts struct {
	Success int64
	Denied  map[string]int64
}

func (c *UsageCounts) add(outcome string, n int64) {
	if outcome == string(exchange.OutcomeIssued) {
		c.Success += n
		return
	}
	if c.Denied == nil {
		c.Denied = map[string]int64{}
	}
	c.Denied[outcome] += n
}

// UsageTotals are the counts of every route together, and of each route of api.UsageVias
// apart (a counter of another route is in the sum only).
type UsageTotals struct {
	UsageCounts
	ByVia map[string]*UsageCounts
}

func (t *UsageTotals) add(outcome, via string, n int64) {
	t.UsageCounts.add(outcome, n)
	if t.ByVia == nil {
		t.ByVia = make(map[string]*UsageCounts, len(api.UsageVias))
		for _, v := range api.UsageVias {
			t.ByVia[v] = &UsageCounts{}
		}
	}
	if c, ok := t.ByVia[via]; ok {
		c.add(outcome, n)
	}
}

// Usage returns the flushed counters of a key for the last days (1..api.KeyUsageDaysMax) and the
// current calendar month.
func (k *Service) Usage(ctx context.Context, a audit.Actor, id string, days int) (UsageReport, error) {
	if days < 1 || days > api.KeyUsageDaysMax {
		return UsageReport{}, errs.Field("days", fmt.Sprintf("must be between 1 and %d", api.KeyUsageDaysMax))
	}
	key, err := k.store.KeyByID(ctx, ownerScope(a), id)
	if err != nil {
		return UsageReport{}, err
	}
	if k.usage == nil {
		return UsageReport{}, errors.New("no usage store configured")
	}
	now := k.clock().UTC()
	first := now.AddDate(0, 0, -(days - 1))
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	since := first
	if monthStart.Before(since) {
		since = monthStart
	}
	rows, err := k.usage.UsageByKey(ctx, key.ID, since.Format(time.DateOnly))
	if err != nil {
		return UsageReport{}, err
	}
	out := UsageReport{Key: k.key(key)}
	byDay := map[string]*UsageTotals{}
	for d := first; !d.After(now); d = d.AddDate(0, 0, 1) {
		out.Days = append(out.Days, DayUsage{Date: d.Format(time.DateOnly)})
	}
	for i := range out.Days {
		byDay[out.Days[i].Date] = &out.Days[i].UsageTotals
	}
	monthPrefix := now.Format("2006-01")
	for _, r := range rows {
		if t, ok := byDay[r.Day]; ok {
			t.add(r.Outcome, r.Via, r.Count)
			out.Total.add(r.Outcome, r.Via, r.Count)
		}
		if strings.HasPrefix(r.Day, monthPrefix) {
			out.Month.add(r.Outcome, r.Via, r.Count)
		}
	}
	return out, nil
}
