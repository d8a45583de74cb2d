package handlers

import (
	"net/url"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/page"
)

// encodeAuditCursor is the cursor GET /v1/audit, without filter parameters, gives
// after the event (at, id).
func encodeAuditCursor(at time.Time, id string) string {
	return auditScope(url.Values{}).Cursor(page.Position{At: at, ID: id})
}

// An audit cursor is one of the filter the caller gave: another filter's is refused
// (internal/page fuzzes the cursor itself).
func TestAuditCursor_OnlyForItsFilter(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	const id = "11111111-1111-4111-8111-111111111111"
	byKey := url.Values{"key": {id}}
	c := auditScope(byKey).Cursor(page.Position{At: at, ID: id})
	if p, ok := auditScope(byKey).Position(c); !ok || !p.At.Equal(at) || p.ID != id {
		t.Fatalf("own cursor: %+v, %v", p, ok)
	}
	for name, q := range map[string]url.Values{
		"no filter":      {},
		"another key":    {"key": {"22222222-2222-4222-8222-222222222222"}},
		"as target":      {"target_type": {"key"}, "target_id": {id}},
		"with since too": {"key": {id}, "since": {"2020-01-01T00:00:00Z"}},
	} {
		if _, ok := auditScope(q).Position(c); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := auditScope(url.Values{}).Position(encodeAuditCursor(at, id+"\x00")); ok {
		t.Error("an id with NUL was accepted")
	}
}
