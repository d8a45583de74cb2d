package audit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

var (
	alice = audit.Actor{ID: "alice-id", Name: "alice"}
	bob   = audit.Actor{ID: "bob-id", Name: "bob"}
	carol = audit.Actor{ID: "carol-id", Name: "carol", Admin: true}
	base  = time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
)

// countingStore is the SQLite store, counting reads: a refused request reads nothing.
type countingStore struct {
	*models.Store
	reads int
}

func (s *countingStore) ListAudit(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error) {
	s.reads++
	return s.Store.ListAudit(ctx, f)
}

// newReader returns a reader over a SQLite store holding, one second apart, n events
// on keys k0..: even ones owned by alice, odd ones by bob.
func newReader(t *testing.T, n int) (*audit.Reader, *countingStore) {
	t.Helper()
	store, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	for i := 0; i < n; i++ {
		owner := []string{alice.ID, bob.ID}[i%2]
		if err := store.RecordAudit(context.Background(), &models.AuditEvent{At: base.Add(time.Duration(i) * time.Second),
			ActorID: owner, Action: "key.update", TargetType: "key", TargetID: fmt.Sprint("k", i), OwnerID: owner}); err != nil {
			t.Fatal(err)
		}
	}
	cs := &countingStore{Store: store}
	return audit.NewReader(cs), cs
}

func owners(events []models.AuditEvent) map[string]int {
	out := map[string]int{}
	for _, ev := range events {
		out[ev.OwnerID]++
	}
	return out
}

func TestList_UserReadsOnlyOwnEvents(t *testing.T) {
	r, _ := newReader(t, 6)
	for name, f := range map[string]audit.Filter{
		"no filter":           {},
		"own id as owner":     {Owner: alice.ID},
		"bob's key by id":     {Key: "k1"},
		"bob's key as target": {TargetType: "key", TargetID: "k1"},
	} {
		p, err := r.List(context.Background(), alice, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := owners(p.Events); got[bob.ID] != 0 {
			t.Errorf("%s: alice read bob's events: %v", name, got)
		}
	}
	p, _ := r.List(context.Background(), alice, audit.Filter{})
	if got := owners(p.Events); got[alice.ID] != 3 {
		t.Errorf("alice's own events: %v", got)
	}
}

func TestList_UserAskingForOthersEvents_Refused(t *testing.T) {
	r, store := newReader(t, 4)
	for name, c := range map[string]struct {
		a audit.Actor
		f audit.Filter
	}{
		"another owner":          {alice, audit.Filter{Owner: bob.ID}},
		"another owner, own key": {alice, audit.Filter{Owner: bob.ID, Key: "k0"}},
		"an actor without an id": {audit.Actor{Name: "ghost"}, audit.Filter{}},
		"no id, owner of no one": {audit.Actor{}, audit.Filter{Owner: ""}},
	} {
		_, err := r.List(context.Background(), c.a, c.f)
		if !errors.Is(err, audit.ErrOthersEvents) || errs.KindOf(err) != errs.Forbidden {
			t.Errorf("%s: %v", name, err)
		}
	}
	if store.reads != 0 {
		t.Errorf("refused requests read the store %d times", store.reads)
	}
}

func TestList_AdminReadsAnyOwner(t *testing.T) {
	r, _ := newReader(t, 6)
	p, err := r.List(context.Background(), carol, audit.Filter{})
	if err != nil || len(p.Events) != 6 {
		t.Fatalf("all: %d, %v", len(p.Events), err)
	}
	p, err = r.List(context.Background(), carol, audit.Filter{Owner: bob.ID})
	if got := owners(p.Events); err != nil || got[bob.ID] != 3 || got[alice.ID] != 0 {
		t.Fatalf("bob's: %v, %v", got, err)
	}
}

func TestList_InvalidFilter_EveryProblemNamed_NothingRead(t *testing.T) {
	r, store := newReader(t, 2)
	_, err := r.List(context.Background(), carol, audit.Filter{Since: "yesterday", Until: "2030-01-01", Limit: 201, Cursor: "x"})
	var v *errs.Validation
	if !errors.As(err, &v) {
		t.Fatalf("want a validation error, got %v", err)
	}
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	sort.Strings(fields)
	if fmt.Sprint(fields) != "[cursor limit since until]" {
		t.Errorf("fields: %v", fields)
	}
	for _, limit := range []int{-1, 201} {
		if _, err := r.List(context.Background(), carol, audit.Filter{Limit: limit}); errs.KindOf(err) != errs.Invalid {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
	if store.reads != 0 {
		t.Errorf("invalid requests read the store %d times", store.reads)
	}
}

// Pages cover every event once, newest first, and a cursor is one of its filter.
func TestList_Pages(t *testing.T) {
	r, _ := newReader(t, 5)
	seen := map[string]bool{}
	var last time.Time
	cursor, pages := "", 0
	for {
		p, err := r.List(context.Background(), carol, audit.Filter{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ev := range p.Events {
			if seen[ev.ID] || (!last.IsZero() && !ev.At.Before(last)) {
				t.Fatalf("event %s repeated or out of order", ev.TargetID)
			}
			seen[ev.ID], last = true, ev.At
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
		for name, other := range map[string]audit.Filter{
			"another owner": {Owner: alice.ID}, "a key": {Key: "k1"}, "since": {Since: "2030-01-01T00:00:00Z"},
		} {
			other.Cursor = cursor
			if _, err := r.List(context.Background(), carol, other); errs.KindOf(err) != errs.Invalid {
				t.Errorf("cursor accepted for %s: %v", name, err)
			}
		}
	}
	if len(seen) != 5 || pages != 3 {
		t.Errorf("%d events in %d pages", len(seen), pages)
	}
}

func TestExport_AdminsOnly_RangeRequired(t *testing.T) {
	r, store := newReader(t, 2)
	if _, err := r.Export(alice, audit.Filter{Since: "2030-03-01T00:00:00Z", Until: "2030-03-02T00:00:00Z"}); !errors.Is(err, audit.ErrExportAdmin) {
		t.Errorf("a user exported: %v", err)
	}
	for name, f := range map[string]audit.Filter{
		"no range":     {},
		"no until":     {Since: "2030-03-01T00:00:00Z"},
		"until before": {Since: "2030-03-02T00:00:00Z", Until: "2030-03-01T00:00:00Z"},
		"empty range":  {Since: "2030-03-01T00:00:00Z", Until: "2030-03-01T00:00:00Z"},
		"over 31 days": {Since: "2030-03-01T00:00:00Z", Until: "2030-04-01T00:00:01Z"},
		"not RFC 3339": {Since: "2030-03-01", Until: "2030-03-02T00:00:00Z"},
	} {
		if _, err := r.Export(carol, f); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if store.reads != 0 {
		t.Errorf("refused exports read the store %d times", store.reads)
	}
}

// An export reads every event of its range once, across the store's pages.
func TestExport_EveryEventOnce(t *testing.T) {
	const n = 2*500 + 7
	r, _ := newReader(t, n)
	exp, err := r.Export(carol, audit.Filter{Since: "2030-03-01T00:00:00Z", Until: "2030-03-02T00:00:00Z", Owner: bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		events, err := exp.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			break
		}
		for _, ev := range events {
			if seen[ev.ID] || ev.OwnerID != bob.ID {
				t.Fatalf("event %s repeated or not bob's", ev.TargetID)
			}
			seen[ev.ID] = true
		}
	}
	if len(seen) != n/2 {
		t.Errorf("exported %d of bob's %d events", len(seen), n/2)
	}
}
