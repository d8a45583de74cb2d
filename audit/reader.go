package audit

import (
	"context"
	"time"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/models"
)

const (
	// MaxExportSpan bounds one export: a SIEM fetches the trail in windows.
	MaxExportSpan = 31 * 24 * time.Hour
	// exportPage is how many events an export reads from the store at a time.
	exportPage = 500
)

// Refusals of the access rule.
var (
	ErrOthersEvents = errs.New(errs.Forbidden, "only admins read other users' audit events")
	ErrExportAdmin  = errs.New(errs.Forbidden, "only admins export the audit trail")
)

// EventStore reads stored events (models.Store).
type EventStore interface {
	ListAudit(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error)
}

// Reader reads the audit trail for a caller, the one place that holds its rule: an
// admin reads every event, anyone else only the events on objects they own.
type Reader struct{ store EventStore }

// NewReader returns a Reader over store.
func NewReader(store EventStore) *Reader { return &Reader{store: store} }

// Filter is what a caller asks for, as given: the reader validates it and names the
// field of each problem.
type Filter struct {
	Key                  string // a key id: the same as TargetType "key", TargetID Key
	TargetType, TargetID string
	Owner                string // a user id; others than the caller's own: admins only
	Since, Until         string // RFC 3339 times; empty: open (an export needs both)
	Limit                int    // List only; 0: page.DefaultLimit
	Cursor               string // List only; the NextCursor of the previous page
}

// Page is one page of events, newest first.
type Page struct {
	Events     []models.AuditEvent
	NextCursor string // "" on the last page
}

// List returns one page of the events f selects that a may read.
func (r *Reader) List(ctx context.Context, a Actor, f Filter) (Page, error) {
	mf, err := storeFilter(a, f)
	if err != nil {
		return Page{}, err
	}
	v := &errs.Validation{}
	mf.Since, mf.Until = times(v, f, false)
	limit, ok := page.Limit(f.Limit)
	if !ok {
		v.Add("limit", page.LimitRule)
	}
	// The cursor is bound to the filter as given, so a page link never changes filter.
	scope := page.For("audit", "-at", f.Key, f.TargetType, f.TargetID, f.Owner, f.Since, f.Until)
	after, ok := scope.Position(f.Cursor)
	if !ok {
		v.Add("cursor", page.CursorRule)
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	if after != nil {
		mf.After = &models.ListPosition{At: after.At, ID: after.ID}
	}
	mf.Limit = limit + 1 // one extra event tells whether another page exists
	events, err := r.store.ListAudit(ctx, mf)
	if err != nil {
		return Page{}, err
	}
	p := Page{Events: events}
	if len(events) > limit {
		p.Events = events[:limit]
		last := p.Events[limit-1]
		p.NextCursor = scope.Cursor(page.Position{At: last.At, ID: last.ID})
	}
	return p, nil
}

// Export is an export under way: its pages, read one at a time so that an export never
// sits in memory.
type Export struct {
	r      *Reader
	filter models.AuditFilter
	done   bool
}

// Export checks that a may export (admins only) and f (Since and Until required, at
// most MaxExportSpan apart) before anything is read; Limit and Cursor are ignored.
func (r *Reader) Export(a Actor, f Filter) (*Export, error) {
	if err := r.MayExport(a); err != nil {
		return nil, err
	}
	mf, err := storeFilter(a, f)
	if err != nil {
		return nil, err
	}
	v := &errs.Validation{}
	mf.Since, mf.Until = times(v, f, true)
	if !mf.Since.IsZero() && !mf.Until.IsZero() {
		switch span := mf.Until.Sub(mf.Since); {
		case span <= 0:
			v.Add("until", "must be after since")
		case span > MaxExportSpan:
			v.Add("until", "must be at most 31 days after since: export longer periods in windows")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	mf.Limit = exportPage
	return &Export{r: r, filter: mf}, nil
}

// MayExport says whether a may export the trail at all, for a caller that checks before
// it reads the request.
func (r *Reader) MayExport(a Actor) error {
	if !a.Admin {
		return ErrExportAdmin
	}
	return nil
}

// Next returns the next events, newest first; none when the export is complete.
func (e *Export) Next(ctx context.Context) ([]models.AuditEvent, error) {
	if e.done {
		return nil, nil
	}
	events, err := e.r.store.ListAudit(ctx, e.filter)
	if err != nil {
		return nil, err
	}
	if len(events) < exportPage {
		e.done = true
	} else {
		last := events[len(events)-1]
		e.filter.After = &models.ListPosition{At: last.At, ID: last.ID}
	}
	return events, nil
}

// storeFilter applies the access rule: a non-admin reads only their own events, and
// asking for another user's is refused rather than answered with nothing.
func storeFilter(a Actor, f Filter) (models.AuditFilter, error) {
	mf := models.AuditFilter{TargetType: f.TargetType, TargetID: f.TargetID, OwnerID: f.Owner}
	if f.Key != "" {
		mf.TargetType, mf.TargetID = "key", f.Key
	}
	if !a.Admin {
		// An actor without an id never falls through to an unfiltered read.
		if a.ID == "" || (f.Owner != "" && f.Owner != a.ID) {
			return models.AuditFilter{}, ErrOthersEvents
		}
		mf.OwnerID = a.ID
	}
	return mf, nil
}

// times parses Since and Until, adding a problem to v for each that is malformed (or
// missing, when required).
func times(v *errs.Validation, f Filter, required bool) (since, until time.Time) {
	for _, t := range []struct {
		field, raw string
		dst        *time.Time
	}{{"since", f.Since, &since}, {"until", f.Until, &until}} {
		if t.raw == "" {
			if required {
				v.Add(t.field, "is required for an export (Accept: application/x-ndjson): give an RFC 3339 time")
			}
			continue
		}
		parsed, err := time.Parse(time.RFC3339, t.raw)
		if err != nil {
			v.Add(t.field, "must be an RFC 3339 time")
			continue
		}
		*t.dst = parsed
	}
	return since, until
}
