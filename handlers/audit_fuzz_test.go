package handlers

import (
	"time"

	"github.com/keyward/keyward/internal/page"
)

// encodeAuditCursor is the cursor GET /v1/audit, without filter parameters, gives
// after the event (at, id): audit.Reader's scope for an empty filter (audit's tests
// hold a cursor to its filter).
func encodeAuditCursor(at time.Time, id string) string {
	return page.For("audit", "-at", "", "", "", "", "", "").Cursor(page.Position{At: at, ID: id})
}
