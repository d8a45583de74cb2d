package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/models"
)

type createKeyRequest struct {
	Name          string `json:"name"`
	Description   string `json:"description"`
	Environment   string `json:"environment"`
	ExpiresInDays *int   `json:"expires_in_days"`
	NeverExpires  bool   `json:"never_expires"`
}

// keyResponse is the wire form of a key: never the hash, and the plaintext only once.
type keyResponse struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Prefix      string     `json:"prefix"`
	Status      string     `json:"status"`
	Environment string     `json:"environment"`
	Owner       string     `json:"owner"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
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
	return keyResponse{
		ID:          k.ID,
		Name:        k.Name,
		Description: k.Description,
		Prefix:      exchange.Prefix(k),
		Status:      exchange.Status(k, s.Clock()),
		Environment: k.Environment,
		Owner:       k.OwnerID,
		CreatedAt:   k.CreatedAt.UTC(),
		ExpiresAt:   utcPtr(k.ExpiresAt),
		LastUsedAt:  utcPtr(k.LastUsedAt),
	}
}

func (s *server) createKey(c *gin.Context) {
	var req createKeyRequest
	if err := bindJSON(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	who := caller(c)
	created, err := s.Keys.Create(c.Request.Context(), exchange.Owner{ID: who.Subject, Username: who.Username},
		exchange.CreateKeyParams{
			Name:          req.Name,
			Description:   req.Description,
			Environment:   req.Environment,
			ExpiresInDays: req.ExpiresInDays,
			NeverExpires:  req.NeverExpires,
		})
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Location", "/v1/keys/"+created.Key.ID)
	c.JSON(http.StatusCreated, createdKeyResponse{keyResponse: s.toKeyResponse(created.Key), Key: created.Plaintext})
}

func (s *server) listKeys(c *gin.Context) {
	keys, err := s.Keys.List(c.Request.Context(), caller(c).Subject)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := keyList{Items: make([]keyResponse, 0, len(keys))}
	for _, k := range keys {
		out.Items = append(out.Items, s.toKeyResponse(k))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (s *server) deleteKey(c *gin.Context) {
	if err := s.Keys.Delete(c.Request.Context(), caller(c).Subject, c.Param("id")); err != nil {
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
