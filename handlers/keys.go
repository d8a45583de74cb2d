package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/exchange"
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
}

type updateKeyRequest struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Scopes      *[]string       `json:"scopes"`
	Metadata    json.RawMessage `json:"metadata"`
	Enabled     *bool           `json:"enabled"`
	ExpiresAt   *string         `json:"expires_at"`
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
	RotatedTo     *string         `json:"rotated_to,omitempty"`
	GraceUntil    *time.Time      `json:"grace_until,omitempty"`
}

type createdKeyResponse struct {
	keyResponse
	Key string `json:"key"`
}

type keyList struct {
	Items      []keyResponse `json:"items"`
	NextCursor *string       `json:"next_cursor"`
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
	return keyResponse{
		ID:            k.ID,
		Name:          k.Name,
		Description:   k.Description,
		Prefix:        exchange.Prefix(k),
		Status:        exchange.Status(k, s.Clock()),
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
	}
}

func (s *server) createKey(c *gin.Context) {
	var req createKeyRequest
	if err := bindJSON(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	created, err := s.Keys.Create(c.Request.Context(), s.actor(c), exchange.CreateKeyParams{
		Owner:         req.Owner,
		Name:          req.Name,
		Description:   req.Description,
		Environment:   req.Environment,
		ExpiresInDays: req.ExpiresInDays,
		ExpiresAt:     req.ExpiresAt,
		NeverExpires:  req.NeverExpires,
		Scopes:        req.Scopes,
		Metadata:      req.Metadata,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.writeCreated(c, created)
}

func (s *server) writeCreated(c *gin.Context, created exchange.Created) {
	c.Header("Cache-Control", "no-store")
	c.Header("Location", "/v1/keys/"+created.Key.ID)
	c.JSON(http.StatusCreated, createdKeyResponse{keyResponse: s.toKeyResponse(created.Key), Key: created.Plaintext})
}

func (s *server) getKey(c *gin.Context) {
	k, err := s.Keys.Get(c.Request.Context(), s.actor(c), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s.toKeyResponse(k))
}

// listQueryParams are the only query parameters GET /v1/keys accepts.
var listQueryParams = map[string]bool{
	"owner": true, "q": true, "status": true, "environment": true, "expires": true,
	"sort": true, "order": true, "limit": true, "cursor": true,
}

func (s *server) listKeys(c *gin.Context) {
	query := c.Request.URL.Query()
	for name, vals := range query {
		if !listQueryParams[name] {
			_ = c.Error(badRequest("unknown query parameter " + strconv.Quote(name)))
			return
		}
		if len(vals) > 1 {
			_ = c.Error(badRequest("query parameter " + strconv.Quote(name) + " is repeated"))
			return
		}
	}
	limit := 0
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			_ = c.Error(&exchange.ValidationError{Fields: []exchange.FieldError{{Field: "limit", Message: "must be a whole number between 1 and 100"}}})
			return
		}
		limit = n
	}
	page, err := s.Keys.List(c.Request.Context(), s.actor(c), exchange.ListParams{
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
	out := keyList{Items: make([]keyResponse, 0, len(page.Items))}
	for _, k := range page.Items {
		out.Items = append(out.Items, s.toKeyResponse(k))
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (s *server) updateKey(c *gin.Context) {
	var req updateKeyRequest
	if err := bindJSON(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	k, err := s.Keys.Update(c.Request.Context(), s.actor(c), c.Param("id"), exchange.UpdateKeyParams{
		Name:        req.Name,
		Description: req.Description,
		Scopes:      req.Scopes,
		Metadata:    req.Metadata,
		Enabled:     req.Enabled,
		ExpiresAt:   req.ExpiresAt,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s.toKeyResponse(k))
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
