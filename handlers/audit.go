package handlers

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keys"
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

type auditList struct {
	Items      []auditEventResponse `json:"items"`
	NextCursor *string              `json:"next_cursor"`
}

// listAudit shows the audit trail: admins see every event, users the events on
// objects they own (their keys).
func (s *server) listAudit(c *gin.Context) {
	q, err := queryParams(c, "key", "target_type", "target_id", "owner", "since", "until", "limit", "cursor")
	if err != nil {
		_ = c.Error(err)
		return
	}
	verr := &errs.Validation{}
	a := s.actor(c)
	f := models.AuditFilter{TargetType: q.Get("target_type"), TargetID: q.Get("target_id"), Limit: 50}
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
				verr.Add(field, "must be an RFC 3339 time")
				continue
			}
			*dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > keys.MaxPageSize {
			verr.Add("limit", "must be between 1 and 100")
		} else {
			f.Limit = n
		}
	}
	if v := q.Get("cursor"); v != "" {
		at, id, ok := decodeAuditCursor(v)
		if !ok {
			verr.Add("cursor", "is not a cursor returned by this API")
		}
		f.BeforeAt, f.BeforeID = at, id
	}
	if err := verr.Err(); err != nil {
		_ = c.Error(err)
		return
	}
	limit := f.Limit
	f.Limit++
	events, err := s.Audit.ListAudit(c.Request.Context(), f)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := auditList{Items: make([]auditEventResponse, 0, len(events))}
	for i, ev := range events {
		if i == limit {
			cur := encodeAuditCursor(events[i-1].At, events[i-1].ID)
			out.NextCursor = &cur
			break
		}
		out.Items = append(out.Items, auditEventResponse{
			ID: ev.ID, At: ev.At.UTC(), Actor: ev.ActorID, ActorName: ev.ActorName, Action: ev.Action,
			TargetType: ev.TargetType, TargetID: ev.TargetID, Owner: ev.OwnerID, OnBehalfOf: nonEmpty(ev.OnBehalfOf), IP: ev.IP,
			RequestID: ev.RequestID, Details: json.RawMessage(ev.Details),
		})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func encodeAuditCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a1:" + at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeAuditCursor(c string) (time.Time, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) > 200 || !strings.HasPrefix(string(raw), "a1:") {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(strings.TrimPrefix(string(raw), "a1:"), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	// Event ids are UUIDs: anything else (NUL, invalid UTF-8) is no cursor of ours and
	// must not reach PostgreSQL, which refuses such text with an error.
	if u, uerr := uuid.Parse(id); !ok || err != nil || uerr != nil || u.String() != id {
		return time.Time{}, "", false
	}
	return t, id, true
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
