package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

type createKeyRequest struct {
	Owner         string          `json:"owner"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Environment   string          `json:"environment"`
	ExpiresInDays *int            `json:"expires_in_days"`
	ExpiresAt     *string         `json:"expires_at"`
	NeverExpires  *bool           `json:"never_expires"`
	Scopes        []string        `json:"scopes"`
	Metadata      json.RawMessage `json:"metadata"`
	RateLimit     *rateLimitJSON  `json:"rate_limit"`
	IPAllowlist   []string        `json:"ip_allowlist"`
}

// rateLimitJSON is a key's limit on the wire: requests per window, or unlimited.
type rateLimitJSON struct {
	Requests      int  `json:"requests,omitempty"`
	WindowSeconds int  `json:"window_seconds,omitempty"`
	Unlimited     bool `json:"unlimited,omitempty"`
}

func (r *rateLimitJSON) param() *keys.RateLimit {
	if r == nil {
		return nil
	}
	return &keys.RateLimit{Requests: r.Requests, WindowSeconds: r.WindowSeconds, Unlimited: r.Unlimited}
}

type updateKeyRequest struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Scopes      *[]string       `json:"scopes"`
	Metadata    json.RawMessage `json:"metadata"`
	Enabled     *bool           `json:"enabled"`
	ExpiresAt   *string         `json:"expires_at"`
	RateLimit   *rateLimitJSON  `json:"rate_limit"`
	IPAllowlist *[]string       `json:"ip_allowlist"`
}

type rotateKeyRequest struct {
	GracePeriodHours *int `json:"grace_period_hours"`
}

// keyResponse is the wire form of a key: never the hash, and the plaintext only once.
type keyResponse struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Prefix        string          `json:"prefix"`
	Status        string          `json:"status"`
	Environment   string          `json:"environment"`
	Scopes        []string        `json:"scopes"`
	Metadata      json.RawMessage `json:"metadata"`
	Owner         string          `json:"owner"`
	OwnerUsername string          `json:"owner_username"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	ExpiresAt     *time.Time      `json:"expires_at"`
	LastUsedAt    *time.Time      `json:"last_used_at"`
	LastUsedIP    *string         `json:"last_used_ip"`
	RateLimit     rateLimitJSON   `json:"rate_limit"`
	IPAllowlist   []string        `json:"ip_allowlist"`
	RotatedTo     *string         `json:"rotated_to,omitempty"`
	GraceUntil    *time.Time      `json:"grace_until,omitempty"`
	// AdminSet names the admin behind each decision the owner cannot undo.
	AdminSet *adminSetJSON `json:"admin_set,omitempty"`
}

type adminSetJSON struct {
	Disabled    string `json:"disabled,omitempty"`
	RateLimit   string `json:"rate_limit,omitempty"`
	IPAllowlist string `json:"ip_allowlist,omitempty"`
}

type createdKeyResponse struct {
	keyResponse
	Key string `json:"key"`
}

func (s *server) toKeyResponse(k models.Key) keyResponse {
	scopes := strings.Fields(k.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	metadata := json.RawMessage(k.Metadata)
	if len(metadata) == 0 {
		metadata = json.RawMessage("{}")
	}
	var lastIP *string
	if k.LastUsedIP != "" {
		lastIP = &k.LastUsedIP
	}
	limit := rateLimitJSON{Unlimited: true}
	if req, win, ok := s.Keys.RateLimitOf(k); ok {
		limit = rateLimitJSON{Requests: req, WindowSeconds: win}
	}
	allow := strings.Fields(k.IPAllowlist)
	if allow == nil {
		allow = []string{}
	}
	return keyResponse{
		LastUsedIP:    lastIP,
		RateLimit:     limit,
		IPAllowlist:   allow,
		ID:            k.ID,
		Name:          k.Name,
		Description:   k.Description,
		Prefix:        keys.Prefix(k),
		Status:        keys.Status(k, s.Clock()),
		Environment:   k.Environment,
		Scopes:        scopes,
		Metadata:      metadata,
		Owner:         k.OwnerID,
		OwnerUsername: k.OwnerUsername,
		CreatedAt:     k.CreatedAt.UTC(),
		UpdatedAt:     k.UpdatedAt.UTC(),
		ExpiresAt:     utcPtr(k.ExpiresAt),
		LastUsedAt:    utcPtr(k.LastUsedAt),
		RotatedTo:     k.RotatedTo,
		GraceUntil:    utcPtr(k.GraceUntil),
		AdminSet:      adminSet(k),
	}
}

func (s *server) createKey(c *gin.Context) {
	var req createKeyRequest
	if err := bindJSON(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	created, err := s.Keys.Create(c.Request.Context(), s.actor(c), keys.CreateParams{
		Owner:         req.Owner,
		Name:          req.Name,
		Description:   req.Description,
		Environment:   req.Environment,
		ExpiresInDays: req.ExpiresInDays,
		ExpiresAt:     req.ExpiresAt,
		NeverExpires:  req.NeverExpires,
		Scopes:        req.Scopes,
		Metadata:      req.Metadata,
		RateLimit:     req.RateLimit.param(),
		IPAllowlist:   req.IPAllowlist,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.writeCreated(c, created)
}

func (s *server) writeCreated(c *gin.Context, created keys.Created) {
	c.Header("Location", "/v1/keys/"+created.Key.ID)
	answer(c, http.StatusCreated, createdKeyResponse{keyResponse: s.toKeyResponse(created.Key), Key: created.Plaintext})
}

func (s *server) getKey(c *gin.Context) {
	k, err := s.Keys.Get(c.Request.Context(), s.actor(c), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	answer(c, http.StatusOK, s.toKeyResponse(k))
}

func (s *server) listKeys(c *gin.Context) {
	query, err := queryParams(c, "owner", "q", "status", "environment", "expires", "sort", "order", "limit", "cursor")
	if err != nil {
		_ = c.Error(err)
		return
	}
	var f []errs.FieldError
	limit := limitParam(query, &f)
	if len(f) > 0 {
		_ = c.Error(&errs.Validation{Fields: f})
		return
	}
	page, err := s.Keys.List(c.Request.Context(), s.actor(c), keys.ListParams{
		Owner:       query.Get("owner"),
		Query:       query.Get("q"),
		Status:      query.Get("status"),
		Environment: query.Get("environment"),
		Expires:     query.Get("expires"),
		Sort:        query.Get("sort"),
		Order:       query.Get("order"),
		Limit:       limit,
		Cursor:      query.Get("cursor"),
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeList(c, page.Items, page.NextCursor, s.toKeyResponse)
}

func (s *server) updateKey(c *gin.Context) {
	var req updateKeyRequest
	if err := bindJSON(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	k, err := s.Keys.Update(c.Request.Context(), s.actor(c), c.Param("id"), keys.UpdateParams{
		Name:        req.Name,
		Description: req.Description,
		Scopes:      req.Scopes,
		Metadata:    req.Metadata,
		Enabled:     req.Enabled,
		ExpiresAt:   req.ExpiresAt,
		RateLimit:   req.RateLimit.param(),
		IPAllowlist: req.IPAllowlist,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	answer(c, http.StatusOK, s.toKeyResponse(k))
}

func (s *server) rotateKey(c *gin.Context) {
	var req rotateKeyRequest
	if c.Request.ContentLength != 0 && c.Request.Body != http.NoBody {
		if err := bindJSON(c, &req); err != nil {
			_ = c.Error(err)
			return
		}
	}
	created, err := s.Keys.Rotate(c.Request.Context(), s.actor(c), c.Param("id"), req.GracePeriodHours)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.writeCreated(c, created)
}

func (s *server) deleteKey(c *gin.Context) {
	if err := s.Keys.Delete(c.Request.Context(), s.actor(c), c.Param("id")); err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type usageTotalsJSON struct {
	Success int64            `json:"success"`
	Denied  map[string]int64 `json:"denied"`
}

type dayUsageJSON struct {
	Date string `json:"date"`
	usageTotalsJSON
}

type keyUsageResponse struct {
	KeyID      string          `json:"key_id"`
	LastUsedAt *time.Time      `json:"last_used_at"`
	LastUsedIP *string         `json:"last_used_ip"`
	Month      usageTotalsJSON `json:"month"`
	Period     usageTotalsJSON `json:"period"`
	Days       []dayUsageJSON  `json:"days"`
}

func totalsJSON(t keys.UsageTotals) usageTotalsJSON {
	d := t.Denied
	if d == nil {
		d = map[string]int64{}
	}
	return usageTotalsJSON{Success: t.Success, Denied: d}
}

func (s *server) keyUsage(c *gin.Context) {
	days := 30
	q, err := queryParams(c, "days")
	if err != nil {
		_ = c.Error(err)
		return
	}
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			_ = c.Error(&errs.Validation{Fields: []errs.FieldError{{Field: "days", Message: "must be between 1 and 90"}}})
			return
		}
		days = n
	}
	u, err := s.Keys.Usage(c.Request.Context(), s.actor(c), c.Param("id"), days)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := keyUsageResponse{KeyID: u.Key.ID, LastUsedAt: utcPtr(u.Key.LastUsedAt),
		Month: totalsJSON(u.Month), Period: totalsJSON(u.Total), Days: make([]dayUsageJSON, 0, len(u.Days))}
	if u.Key.LastUsedIP != "" {
		out.LastUsedIP = &u.Key.LastUsedIP
	}
	for _, d := range u.Days {
		out.Days = append(out.Days, dayUsageJSON{Date: d.Date, usageTotalsJSON: totalsJSON(d.UsageTotals)})
	}
	answer(c, http.StatusOK, out)
}

func adminSet(k models.Key) *adminSetJSON {
	if k.DisabledBy == "" && k.LimitSetBy == "" && k.AllowlistSetBy == "" {
		return nil
	}
	return &adminSetJSON{Disabled: k.DisabledBy, RateLimit: k.LimitSetBy, IPAllowlist: k.AllowlistSetBy}
}
