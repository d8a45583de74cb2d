package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/provisioning"
)

func toClientResponse(cl provisioning.Client) api.Client {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return api.Client{
		ID: cl.ID, ClientID: cl.ClientID, Name: cl.Name, Description: cl.Description,
		Consumer:    api.ConsumerRef{ID: cl.ConsumerID, Name: cl.ConsumerName},
		Environment: cl.Environment, Realm: cl.Realm, Protocol: cl.Protocol, ACLGroups: nonNil(cl.ACLGroups),
		Enabled: cl.Enabled, RedirectURIs: nonNil(cl.RedirectURIs), KeycloakID: cl.KeycloakID,
		CreatedAt: cl.CreatedAt.UTC(), UpdatedAt: cl.UpdatedAt.UTC(),
	}
}

func (s *server) createClient(c *gin.Context) {
	withBody(c, func(req api.ClientCreate) error {
		created, err := s.Provisioning.CreateClient(c.Request.Context(), s.actor(c), c.Param("id"), provisioning.ClientInput{
			ClientID: req.ClientID, Name: req.Name, Description: req.Description, RedirectURIs: req.RedirectURIs,
		})
		if err != nil {
			return err
		}
		c.Header("Location", "/v1/clients/"+created.ID)
		answer(c, http.StatusCreated, api.CreatedClient{Client: toClientResponse(created.Client), Secret: created.Secret})
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
	replyToBody(c, http.StatusOK, func(req api.ClientUpdate) (provisioning.Client, error) {
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
	answer(c, http.StatusOK, api.ClientSecret{ClientID: secret.ClientID, Secret: secret.Value})
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
	withBody(c, func(req api.ClientTestRequest) error {
		res, err := s.Provisioning.TestClient(c.Request.Context(), s.actor(c), c.Param("id"), req.Secret)
		if err != nil {
			return err
		}
		groups := res.ACLGroups
		if groups == nil {
			groups = []string{}
		}
		answer(c, http.StatusOK, api.ClientTest{
			Valid: res.Valid, Error: res.Error, ExpiresIn: res.ExpiresIn, Scope: res.Scope,
			ACLClaimPresent: res.ACLClaimPresent, ACLGroups: groups, Header: res.Header, Payload: res.Payload,
		})
		return nil
	})
}

// --- OpenAPI ---

// clientPaths documents the client routes but the secret ones.
func clientPaths(doc *openapi3.T, a adminDoc) {
	client := responseSchema[api.Client]()
	createdClient := responseSchema[api.CreatedClient]()
	clientBody := requestSchema[api.ClientCreate]()
	doc.Paths.Set("/v1/consumers/{id}/clients", &openapi3.PathItem{
		Post: a.op("createClient", "Provision a confidential service-account client for the consumer", clientBody, a.id,
			resp{status: 201, desc: "created; `secret` appears in this response only", schema: createdClient},
			a.notFound, problemResp(409, "the client_id is taken, or an ACL group of the consumer is gone or carries roles (its own or a parent's)")),
	})
	doc.Paths.Set("/v1/clients", &openapi3.PathItem{
		Get: a.op("listClients", "List, search, filter, sort and page clients", nil,
			a.query("consumer", "environment", "enabled", "q", "sort:clients", "limit", "cursor"),
			resp{status: 200, desc: "a page of clients", schema: responseSchema[api.Page[api.Client]]()}, a.badQuery),
	})
	clientPatch := requestSchema[api.ClientUpdate]()
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
	secret := responseSchema[api.ClientSecret]()
	testResult := responseSchema[api.ClientTest]()
	doc.Paths.Set("/v1/clients/{id}/secret", &openapi3.PathItem{
		Get: a.op("getClientSecret", "Show the client's secret (audited)", nil, a.id,
			resp{status: 200, desc: "the secret, read from Keycloak", schema: secret}, a.notFound),
		Post: a.op("regenerateClientSecret", "Regenerate the secret; the old one is refused at once", nil, a.id,
			resp{status: 200, desc: "the new secret", schema: secret}, a.notFound),
	})
	doc.Paths.Set("/v1/clients/{id}/test", &openapi3.PathItem{
		Post: a.op("testClient", "Run the client-credentials grant with a secret and decode the token", requestSchema[api.ClientTestRequest](), a.id, resp{status: 200, desc: "the outcome; never the secret nor the token", schema: testResult}, a.notFound),
	})
}
