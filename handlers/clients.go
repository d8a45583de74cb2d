package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/provisioning"
)

type clientRequest struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	RedirectURIs []string `json:"redirect_uris"`
}

// clientPatchRequest: absent (or null) fields stay as they are.
type clientPatchRequest struct {
	Name         *string   `json:"name"`
	Description  *string   `json:"description"`
	Enabled      *bool     `json:"enabled"`
	RedirectURIs *[]string `json:"redirect_uris"`
}

type consumerRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type clientResponse struct {
	ID           string      `json:"id"`
	ClientID     string      `json:"client_id"`
	Name         string      `json:"name"`
	Description  string      `json:"description"`
	Consumer     consumerRef `json:"consumer"`
	Environment  string      `json:"environment"`
	Realm        string      `json:"realm"`
	Protocol     string      `json:"protocol"`
	ACLGroups    []string    `json:"acl_groups"`
	Enabled      bool        `json:"enabled"`
	RedirectURIs []string    `json:"redirect_uris"`
	KeycloakID   string      `json:"keycloak_id"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
}

type createdClientResponse struct {
	clientResponse
	Secret string `json:"secret"`
}

type secretResponse struct {
	ClientID string `json:"client_id"`
	Secret   string `json:"secret"`
}

type testRequest struct {
	Secret string `json:"secret"`
}

type testResponse struct {
	Valid           bool           `json:"valid"`
	Error           string         `json:"error,omitempty"`
	ExpiresIn       int            `json:"expires_in"`
	Scope           string         `json:"scope"`
	ACLClaimPresent bool           `json:"acl_claim_present"`
	ACLGroups       []string       `json:"acl_groups"`
	Header          map[string]any `json:"header"`
	Payload         map[string]any `json:"payload"`
}

func toClientResponse(cl provisioning.Client) clientResponse {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return clientResponse{
		ID: cl.ID, ClientID: cl.ClientID, Name: cl.Name, Description: cl.Description,
		Consumer:    consumerRef{ID: cl.ConsumerID, Name: cl.ConsumerName},
		Environment: cl.Environment, Realm: cl.Realm, Protocol: cl.Protocol, ACLGroups: nonNil(cl.ACLGroups),
		Enabled: cl.Enabled, RedirectURIs: nonNil(cl.RedirectURIs), KeycloakID: cl.KeycloakID,
		CreatedAt: cl.CreatedAt.UTC(), UpdatedAt: cl.UpdatedAt.UTC(),
	}
}

func (s *server) createClient(c *gin.Context) {
	withBody(c, func(req clientRequest) error {
		created, err := s.Provisioning.CreateClient(c.Request.Context(), s.actor(c), c.Param("id"), provisioning.ClientInput{
			ClientID: req.ClientID, Name: req.Name, Description: req.Description, RedirectURIs: req.RedirectURIs,
		})
		if err != nil {
			return err
		}
		c.Header("Location", "/v1/clients/"+created.ID)
		answer(c, http.StatusCreated, createdClientResponse{clientResponse: toClientResponse(created.Client), Secret: created.Secret})
		return nil
	})
}

func (s *server) listClients(c *gin.Context) {
	q, err := queryParams(c, "consumer", "environment", "enabled", "q", "sort", "limit", "cursor")
	if err != nil {
		_ = c.Error(err)
		return
	}
	var f []errs.FieldError
	limit := limitParam(q, &f)
	enabled := boolParam(q, "enabled", &f)
	if len(f) > 0 {
		_ = c.Error(&errs.Validation{Fields: f})
		return
	}
	page, err := s.Provisioning.ListClients(c.Request.Context(), provisioning.ClientQuery{
		ConsumerID: q.Get("consumer"), Environment: q.Get("environment"), Enabled: enabled, Q: q.Get("q"),
		Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeList(c, page.Items, page.NextCursor, toClientResponse)
}

func (s *server) getClient(c *gin.Context) {
	cl, err := s.Provisioning.Client(c.Request.Context(), c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	answer(c, http.StatusOK, toClientResponse(cl))
}

func (s *server) updateClient(c *gin.Context) {
	withBody(c, func(req clientPatchRequest) error {
		cl, err := s.Provisioning.UpdateClient(c.Request.Context(), s.actor(c), c.Param("id"), provisioning.ClientPatch{
			Name: req.Name, Description: req.Description, Enabled: req.Enabled, RedirectURIs: req.RedirectURIs,
		})
		if err != nil {
			return err
		}
		answer(c, http.StatusOK, toClientResponse(cl))
		return nil
	})
}

func (s *server) deleteClient(c *gin.Context) {
	if err := s.Provisioning.DeleteClient(c.Request.Context(), s.actor(c), c.Param("id")); err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

// clientSecret serves the view and the regeneration of a secret: one answer shape. A
// secret whose audit event could not be stored is not shown: 503, to retry.
func (s *server) clientSecret(c *gin.Context, get func() (provisioning.Secret, error)) {
	secret, err := get()
	if errors.Is(err, provisioning.ErrAuditUnavailable) {
		s.Log.Error("client secret withheld: its audit event could not be stored",
			zap.String("request_id", requestID(c)), zap.Error(err))
		_ = c.Error(errs.Because(provisioning.ErrAuditUnavailable,
			"the audit trail cannot be written, and a secret is never shown unaudited; try again shortly"))
		return
	}
	if err != nil {
		_ = c.Error(err)
		return
	}
	answer(c, http.StatusOK, secretResponse{ClientID: secret.ClientID, Secret: secret.Value})
}

func (s *server) getClientSecret(c *gin.Context) {
	s.clientSecret(c, func() (provisioning.Secret, error) {
		return s.Provisioning.ClientSecret(c.Request.Context(), s.actor(c), c.Param("id"))
	})
}

func (s *server) regenerateClientSecret(c *gin.Context) {
	s.clientSecret(c, func() (provisioning.Secret, error) {
		return s.Provisioning.RegenerateClientSecret(c.Request.Context(), s.actor(c), c.Param("id"))
	})
}

func (s *server) testClient(c *gin.Context) {
	withBody(c, func(req testRequest) error {
		res, err := s.Provisioning.TestClient(c.Request.Context(), s.actor(c), c.Param("id"), req.Secret)
		if err != nil {
			return err
		}
		groups := res.ACLGroups
		if groups == nil {
			groups = []string{}
		}
		answer(c, http.StatusOK, testResponse{
			Valid: res.Valid, Error: res.Error, ExpiresIn: res.ExpiresIn, Scope: res.Scope,
			ACLClaimPresent: res.ACLClaimPresent, ACLGroups: groups, Header: res.Header, Payload: res.Payload,
		})
		return nil
	})
}
