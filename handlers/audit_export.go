package handlers

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

const (
	ndjson = "application/x-ndjson"
	// maxExportSpan bounds one export: a SIEM fetches the trail in windows.
	maxExportSpan = 31 * 24 * time.Hour
	// exportPage is how many events are read from the store at a time.
	exportPage = 500
)

// acceptsNDJSON: the caller asks for newline-delimited JSON.
func acceptsNDJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == ndjson && params["q"] != "0" {
			return true
		}
	}
	return false
}

// exportAudit streams the audit trail as one JSON object per line, for SIEM
// ingestion: admins only, within a required time range, with the list's filters,
// read page by page so an export never sits in memory.
func (s *server) exportAudit(c *gin.Context) {
	a := s.actor(c)
	if !a.Admin {
		_ = c.Error(newAPIError(http.StatusForbidden, "Forbidden", "only admins export the audit trail"))
		return
	}
	q, err := queryParams(c, "key", "target_type", "target_id", "owner", "since", "until")
	if err != nil {
		_ = c.Error(err)
		return
	}
	f := models.AuditFilter{TargetType: q.Get("target_type"), TargetID: q.Get("target_id"), OwnerID: q.Get("owner")}
	if key := q.Get("key"); key != "" {
		f.TargetType, f.TargetID = "key", key
	}
	v := &errs.Validation{}
	for field, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		raw := q.Get(field)
		if raw == "" {
			v.Add(field, "is required for an export (Accept: application/x-ndjson): give an RFC 3339 time")
			continue
		}
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			v.Add(field, "must be an RFC 3339 time")
			continue
		}
		*dst = t
	}
	if !f.Since.IsZero() && !f.Until.IsZero() {
		switch span := f.Until.Sub(f.Since); {
		case span <= 0:
			v.Add("until", "must be after since")
		case span > maxExportSpan:
			v.Add("until", "must be at most 31 days after since: export longer periods in windows")
		}
	}
	if err := v.Err(); err != nil {
		_ = c.Error(err)
		return
	}
	noStore(c)
	c.Header("Content-Type", ndjson)
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	enc := json.NewEncoder(c.Writer)
	f.Limit = exportPage
	for {
		// Each page gets its own write deadline: the server's would cut a long export.
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		events, err := s.Audit.ListAudit(c.Request.Context(), f)
		if err != nil {
			if c.Request.Context().Err() == nil {
				s.Log.Error("audit export cut short", zap.String("request_id", requestID(c)), zap.Error(err))
			}
			// The status is sent: cutting the connection is how the reader learns
			// that the export is incomplete, rather than reading a clean end.
			panic(http.ErrAbortHandler)
		}
		for _, ev := range events {
			if err := enc.Encode(toAuditEventResponse(ev)); err != nil {
				return // the reader went away
			}
		}
		_ = rc.Flush()
		if len(events) < exportPage {
			return
		}
		last := events[len(events)-1]
		f.After = &models.ListPosition{At: last.At, ID: last.ID}
	}
}
