package handlers

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/models"
)

// listAudit shows the audit trail (audit.Reader holds who reads what): admins see
// every event, users the events on objects they own (their keys). Newest first.
func (s *server) listAudit(c *gin.Context) {
	if acceptsNDJSON(c.GetHeader("Accept")) {
		s.exportAudit(c)
		return
	}
	q, err := queryParams(c, "key", "target_type", "target_id", "owner", "since", "until", "limit", "cursor")
	if err != nil {
		_ = c.Error(err)
		return
	}
	f := auditFilter(q)
	f.Limit, f.Cursor = limitValue(q), q.Get("cursor")
	p, err := s.Audit.List(c.Request.Context(), s.actor(c), f)
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeList(c, p.Events, p.NextCursor, toAuditEventResponse)
}

// auditFilter is the filter the query gives, as given: the reader validates it.
func auditFilter(q url.Values) audit.Filter {
	return audit.Filter{Key: q.Get("key"), TargetType: q.Get("target_type"), TargetID: q.Get("target_id"),
		Owner: q.Get("owner"), Since: q.Get("since"), Until: q.Get("until")}
}

// limitValue is the limit parameter for a service that validates it: 0 when absent,
// and out of range (so refused with the list's rule) when it is not a positive number.
func limitValue(q url.Values) int {
	v := q.Get("limit")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n == 0 {
		return -1
	}
	return n
}

func toAuditEventResponse(ev models.AuditEvent) api.AuditEvent {
	return api.AuditEvent{
		ID: ev.ID, At: ev.At.UTC(), Actor: ev.ActorID, ActorName: ev.ActorName, Action: ev.Action,
		TargetType: ev.TargetType, TargetID: ev.TargetID, Owner: ev.OwnerID, OnBehalfOf: nonEmpty(ev.OnBehalfOf), IP: ev.IP,
		RequestID: ev.RequestID, Details: json.RawMessage(ev.Details),
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// --- OpenAPI ---

// auditPaths documents the audit trail.
func auditPaths(doc *openapi3.T) {
	auditOp := operation("listAudit", "Audit trail: users see events on their own keys, admins all", true,
		resp{status: 200, desc: "events, newest first", schema: responseSchema[api.Page[api.AuditEvent]]()},
		problemResp(400, "invalid or unknown parameter"), problemResp(403, "another user's events"))
	auditOp.Responses.Status(200).Value.Content[ndjson] = openapi3.NewMediaType().WithSchemaRef(
		describe(arrayOf("", 0, auditOp.Responses.Status(200).Value.Content.Get("application/json").Schema.Value.Properties["items"].Value.Items),
			"with Accept: application/x-ndjson (admins only): one event per line, newest first, within since..until "+
				"(both required, at most 31 days apart); the stream is cut, not ended, if the store fails midway"))
	auditOp.Parameters = openapi3.Parameters{
		queryParam("key", "a key id: the same as target_type=key&target_id=<id>", str("")),
		queryParam("target_type", "", str("")), queryParam("target_id", "", str("")),
		queryParam("owner", "admins: any user id; users: only their own", str("")),
		queryParam("since", "", dateTime()), queryParam("until", "", dateTime()),
		limitDoc(),
		cursorDoc(),
	}
	doc.Paths.Set("/v1/audit", &openapi3.PathItem{Get: auditOp})
}
