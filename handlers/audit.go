package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/models"
)

type auditEventResponse struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	ActorName  string    `json:"actor_name"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	Owner      string    `json:"owner"`
	// OnBehalfOf is the user an admin acted for (their id), null otherwise.
	OnBehalfOf *string         `json:"on_behalf_of"`
	IP         string          `json:"ip"`
	RequestID  string          `json:"request_id"`
	Details    json.RawMessage `json:"details"`
}

// listAudit shows the audit trail: admins see every event, users the events on
// objects they own (their keys). Newest first.
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
	var fields []errs.FieldError
	a := s.actor(c)
	f := models.AuditFilter{TargetType: q.Get("target_type"), TargetID: q.Get("target_id")}
	if key := q.Get("key"); key != "" {
		f.TargetType, f.TargetID = "key", key
	}
	switch owner := q.Get("owner"); {
	case !a.Admin && owner != "" && owner != a.ID:
		_ = c.Error(newAPIError(http.StatusForbidden, "Forbidden", "only admins read other users' audit events"))
		return
	case !a.Admin:
		f.OwnerID = a.ID
	default:
		f.OwnerID = owner
	}
	for field, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(field); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fields = append(fields, errs.FieldError{Field: field, Message: "must be an RFC 3339 time"})
				continue
			}
			*dst = t
		}
	}
	limit, _ := page.Limit(limitParam(q, &fields))
	scope := auditScope(q)
	after, ok := scope.Position(q.Get("cursor"))
	if !ok {
		fields = append(fields, errs.FieldError{Field: "cursor", Message: page.CursorRule})
	}
	if len(fields) > 0 {
		_ = c.Error(&errs.Validation{Fields: fields})
		return
	}
	if after != nil {
		f.After = &models.ListPosition{At: after.At, ID: after.ID}
	}
	f.Limit = limit + 1 // one extra event tells whether another page exists
	events, err := s.Audit.ListAudit(c.Request.Context(), f)
	if err != nil {
		_ = c.Error(err)
		return
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		last := events[limit-1]
		next = scope.Cursor(page.Position{At: last.At, ID: last.ID})
	}
	writeList(c, events, next, toAuditEventResponse)
}

// auditScope is the cursor scope of an audit list: newest first, for the filter the
// caller gave.
func auditScope(q url.Values) page.Scope {
	return page.For("audit", "-at", q.Get("key"), q.Get("target_type"), q.Get("target_id"), q.Get("owner"),
		q.Get("since"), q.Get("until"))
}

func toAuditEventResponse(ev models.AuditEvent) auditEventResponse {
	return auditEventResponse{
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
		resp{status: 200, desc: "events, newest first", schema: object(map[string]*openapi3.SchemaRef{
			"items": arrayOf("", page.MaxLimit, object(map[string]*openapi3.SchemaRef{
				"id": openapi3.NewUUIDSchema().NewRef(), "at": dateTime(), "actor": str("user id"),
				"actor_name": str(""), "action": str("e.g. key.create, key.rotate"), "target_type": str("e.g. key, consumer, client"),
				"target_id": str(""), "owner": str("user id of the target's owner"),
				"on_behalf_of": nullable(str("the user an admin acted for")), "ip": str(""), "request_id": str(""),
				"details": freeForm(""),
			}, "id", "at", "actor", "actor_name", "action", "target_type", "target_id", "owner", "on_behalf_of", "ip",
				"request_id", "details")),
			"next_cursor": nullable(str("")),
		}, "items", "next_cursor")},
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
