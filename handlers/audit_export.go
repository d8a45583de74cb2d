package handlers

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
)

const ndjson = "application/x-ndjson"

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
// read page by page so an export never sits in memory (audit.Reader.Export).
func (s *server) exportAudit(c *gin.Context) {
	a := s.actor(c)
	if err := s.Audit.MayExport(a); err != nil {
		_ = c.Error(err)
		return
	}
	q, err := queryParams(c, "key", "target_type", "target_id", "owner", "since", "until")
	if err != nil {
		_ = c.Error(err)
		return
	}
	export, err := s.Audit.Export(a, auditFilter(q))
	if err != nil {
		_ = c.Error(err)
		return
	}
	noStore(c)
	c.Header("Content-Type", ndjson)
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	enc := json.NewEncoder(c.Writer)
	for {
		// Each page gets its own write deadline: the server's would cut a long export.
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		events, err := export.Next(c.Request.Context())
		if err != nil {
			if c.Request.Context().Err() == nil {
				s.Log.Error("audit export cut short", zap.String("request_id", requestID(c)), zap.Error(err))
			}
			// The status is sent: cutting the connection is how the reader learns
			// that the export is incomplete, rather than reading a clean end.
			panic(http.ErrAbortHandler)
		}
		if len(events) == 0 {
			return
		}
		for _, ev := range events {
			if err := enc.Encode(toAuditEventResponse(ev)); err != nil {
				return // the reader went away
			}
		}
		_ = rc.Flush()
	}
}
