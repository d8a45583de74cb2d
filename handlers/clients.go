package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
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
	var limit int
	var enabled *bool
	q, ok := withQuery(c, func(q url.Values, f *[]errs.FieldError) {
		limit = limitParam(q, f)
		enabled = boolParam(q, "enabled", f)
	}, "consumer", "environment", "enabled", "q", "sort", "limit", "cursor")
	if !ok {
		return
	}
	page, err := s.Provisioning.ListClients(c.Request.Context(), provisioning.ClientQuery{
		ConsumerID: q.Get("consumer"), Environment: q.Get("environment"), Enabled: enabled, Q: q.Get("q"),
		Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: limit,
	})
	replyList(c, page.Items, page.NextCursor, err, toClientResponse)
}

func (s *server) getClient(c *gin.Context) {
	cl, err := s.Provisioning.Client(c.Request.Context(), c.Param("id"))
	reply(c, http.StatusOK, cl, err, toClientResponse)
}

func (s *server) updateClient(c *gin.Context) {
	replyToBody(c, http.StatusOK, func(req clientPatchRequest) (provisioning.Client, error) {
		return s.Provisioning.UpdateClient(c.Request.Context(), s.actor(c), c.Param("id"), provisioning.ClientPatch{
			Name: req.Name, Description: req.Description, Enabled: req.Enabled, RedirectURIs: req.RedirectURIs,
		})
	}, toClientResponse)
}

func (s *server) deleteClient(c *gin.Context) {
	replyDeleted(c, s.Provisioning.DeleteClient(c.Request.Context(), s.actor(c), c.Param("id")))
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

// --- OpenAPI ---

// clientSchema is a client as the routes answer it.
func (a adminDoc) clientSchema() *openapi3.SchemaRef {
	return object(map[string]*openapi3.SchemaRef{
		"id":            openapi3.NewUUIDSchema().NewRef(),
		"client_id":     patterned("the OAuth client_id in Keycloak", clientIDPattern),
		"name":          a.name,
		"description":   a.keycloakDescription,
		"consumer":      object(map[string]*openapi3.SchemaRef{"id": openapi3.NewUUIDSchema().NewRef(), "name": a.consumerName}, "id", "name"),
		"environment":   a.env,
		"realm":         str("the Keycloak realm"),
		"protocol":      enum(provisioning.Protocol),
		"acl_groups":    a.groupList("the consumer's ACL groups: the acl_groups claim of the client's tokens"),
		"enabled":       boolean(),
		"redirect_uris": a.redirectURIs("standard flow is on only when there are some"),
		"keycloak_id":   str("Keycloak's internal id of the client"),
		"created_at":    a.time,
		"updated_at":    a.time,
	}, "id", "client_id", "name", "description", "consumer", "environment", "realm", "protocol", "acl_groups", "enabled",
		"redirect_uris", "keycloak_id", "created_at", "updated_at")
}

// clientPaths documents the client routes but the secret ones.
func clientPaths(doc *openapi3.T, a adminDoc) {
	client := a.clientSchema()
	createdClient := extend(client, map[string]*openapi3.SchemaRef{"secret": text("the client secret; in this response only", 1, 0)}, "secret")
	clientBody := requestObject(map[string]*openapi3.SchemaRef{
		"client_id": patterned("3..100 of a-z, 0-9, '.', '_', '-', starting with a letter or digit; generated from the consumer's name when absent or empty",
			`^([a-z0-9][a-z0-9._-]{2,99})?$`),
		"name":          safeIn(describe(a.name.Value.NewRef(), "up to 100 characters, one line; default the client_id"), false),
		"description":   safeIn(a.keycloakDescription, true),
		"redirect_uris": a.redirectURIs("the standard flow is on only with some"),
	})
	doc.Paths.Set("/v1/consumers/{id}/clients", &openapi3.PathItem{
		Post: a.op("createClient", "Provision a confidential service-account client for the consumer", clientBody, a.id,
			resp{status: 201, desc: "created; `secret` appears in this response only", schema: createdClient},
			a.notFound, problemResp(409, "the client_id is taken, or an ACL group of the consumer is gone or carries roles (its own or a parent's)")),
	})
	doc.Paths.Set("/v1/clients", &openapi3.PathItem{
		Get: a.op("listClients", "List, search, filter, sort and page clients", nil,
			a.query("consumer", "environment", "enabled", "q", "sort:clients", "limit", "cursor"),
			resp{status: 200, desc: "a page of clients", schema: listSchema(client)}, a.badQuery),
	})
	clientPatch := requestObject(map[string]*openapi3.SchemaRef{
		"name":        safeIn(text("1..100 characters, one line", 1, provisioning.MaxClientNameLen), false),
		"description": safeIn(a.keycloakDescription, true),
		"enabled":     boolean(), "redirect_uris": a.redirectURIs("the new set"),
	})
	clientPatch.Value.WithMinProperties(1)
	clientPatch.Value.Description = "at least one field that is not null; absent or null fields stay as they are"
	doc.Paths.Set("/v1/clients/{id}", &openapi3.PathItem{
		Get: a.op("getClient", "Read a client", nil, a.id, resp{status: 200, desc: "the client", schema: client}, a.notFound),
		Patch: a.op("updateClient", "Change a client; enabled:false makes Keycloak refuse it tokens", clientPatch, a.id,
			resp{status: 200, desc: "the client as changed", schema: client}, a.notFound,
			problemResp(409, "the client is gone from Keycloak")),
		Delete: a.op("deleteClient", "Delete a client from Keycloak and Keyward", nil, a.id, resp{status: 204, desc: "deleted"}, a.notFound),
	})
}

// clientSecretPaths documents the routes that show, regenerate and try a client's
// secret.
func clientSecretPaths(doc *openapi3.T, a adminDoc) {
	secret := object(map[string]*openapi3.SchemaRef{
		"client_id": patterned("", clientIDPattern), "secret": text("the client secret", 1, 0),
	}, "client_id", "secret")
	testResult := object(map[string]*openapi3.SchemaRef{
		"valid":             boolean(),
		"error":             text("Keycloak's OAuth error when not valid, e.g. invalid_client", 1, 0),
		"expires_in":        integer(0, 0),
		"scope":             str("granted scopes"),
		"acl_claim_present": boolean(),
		"acl_groups":        arrayOf("the token's acl_groups claim", 0, str("")),
		"header":            nullable(freeForm("the token's JOSE header; null when no token was issued")),
		"payload":           nullable(freeForm("the token's claims; null when no token was issued")),
	}, "valid", "expires_in", "scope", "acl_claim_present", "acl_groups", "header", "payload")
	doc.Paths.Set("/v1/clients/{id}/secret", &openapi3.PathItem{
		Get: a.op("getClientSecret", "Show the client's secret (audited)", nil, a.id,
			resp{status: 200, desc: "the secret, read from Keycloak", schema: secret}, a.notFound),
		Post: a.op("regenerateClientSecret", "Regenerate the secret; the old one is refused at once", nil, a.id,
			resp{status: 200, desc: "the new secret", schema: secret}, a.notFound),
	})
	doc.Paths.Set("/v1/clients/{id}/test", &openapi3.PathItem{
		Post: a.op("testClient", "Run the client-credentials grant with a secret and decode the token", requestObject(map[string]*openapi3.SchemaRef{
			"secret": safeIn(text("the secret to try, at most 1024 printable characters; never echoed", 1, provisioning.MaxSecretLen), false),
		}, "secret"), a.id, resp{status: 200, desc: "the outcome; never the secret nor the token", schema: testResult}, a.notFound),
	})
}
