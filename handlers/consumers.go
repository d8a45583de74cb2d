package handlers

import (
	"net/http"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/provisioning"
)

func toConsumerResponse(c provisioning.Consumer) api.Consumer {
	return api.Consumer{ID: c.ID, Name: c.Name, Description: c.Description, Environment: c.Environment,
		ACLGroups: c.ACLGroups, ContactEmail: c.ContactEmail, Enabled: c.Enabled, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func (s *server) createConsumer(c *gin.Context) {
	withBody(c, func(req api.ConsumerCreate) error {
		cons, err := s.Provisioning.CreateConsumer(c.Request.Context(), s.actor(c), provisioning.ConsumerInput{
			Name: req.Name, Description: req.Description, Environment: req.Environment, ACLGroups: req.ACLGroups,
			ContactEmail: req.ContactEmail,
		})
		if err != nil {
			return err
		}
		c.Header("Location", "/v1/consumers/"+cons.ID)
		answer(c, http.StatusCreated, toConsumerResponse(cons))
		return nil
	})
}

func (s *server) listConsumers(c *gin.Context) {
	var limit int
	q, ok := withQuery(c, func(q url.Values, f *[]errs.FieldError) { limit = limitParam(q, f) },
		"q", "environment", "sort", "limit", "cursor")
	if !ok {
		return
	}
	page, err := s.Provisioning.ListConsumers(c.Request.Context(), provisioning.ConsumerQuery{
		Q: q.Get("q"), Environment: q.Get("environment"), Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: limit,
	})
	replyList(c, page.Items, page.NextCursor, err, toConsumerResponse)
}

func (s *server) getConsumer(c *gin.Context) {
	cons, err := s.Provisioning.Consumer(c.Request.Context(), c.Param("id"))
	reply(c, http.StatusOK, cons, err, toConsumerResponse)
}

func (s *server) updateConsumer(c *gin.Context) {
	replyToBody(c, http.StatusOK, func(req api.ConsumerUpdate) (provisioning.Consumer, error) {
		return s.Provisioning.UpdateConsumer(c.Request.Context(), s.actor(c), c.Param("id"), provisioning.ConsumerPatch{
			Name: req.Name, Description: req.Description, Environment: req.Environment, ACLGroups: req.ACLGroups,
			ContactEmail: req.ContactEmail, Enabled: req.Enabled,
		})
	}, toConsumerResponse)
}

func (s *server) deleteConsumer(c *gin.Context) {
	var cascade *bool
	if _, ok := withQuery(c, func(q url.Values, f *[]errs.FieldError) { cascade = boolParam(q, "cascade", f) }, "cascade"); !ok {
		return
	}
	replyDeleted(c, s.Provisioning.DeleteConsumer(c.Request.Context(), s.actor(c), c.Param("id"), cascade != nil && *cascade))
}

// --- OpenAPI ---

// consumerPaths documents the consumer routes.
func consumerPaths(doc *openapi3.T, a adminDoc) {
	consumer := responseSchema[api.Consumer]()
	consumerBody := requestSchema[api.ConsumerCreate]()
	consumerPatch := requestSchema[api.ConsumerUpdate]()
	consumerPatch.Value.WithMinProperties(1)
	consumerPatch.Value.Description = "at least one field that is not null; absent or null fields stay as they are"
	doc.Paths.Set("/v1/consumers", &openapi3.PathItem{
		Post: a.op("createConsumer", "Create a consumer", consumerBody, nil,
			resp{status: 201, desc: "created", schema: consumer},
			problemResp(409, "the name is taken, or an ACL group carries roles (its own or a parent's; the detail names it)")),
		Get: a.op("listConsumers", "List, search, filter, sort and page consumers", nil,
			a.query("q", "environment", "sort:consumers", "limit", "cursor"),
			resp{status: 200, desc: "a page of consumers", schema: responseSchema[api.Page[api.Consumer]]()}, a.badQuery),
	})
	doc.Paths.Set("/v1/consumers/{id}", &openapi3.PathItem{
		Get: a.op("getConsumer", "Read a consumer", nil, a.id, resp{status: 200, desc: "the consumer", schema: consumer}, a.notFound),
		Patch: a.op("updateConsumer", "Change a consumer; a change of acl_groups reaches every client's service account, enabled false refuses its keys and OAuth clients", consumerPatch, a.id,
			resp{status: 200, desc: "the consumer as changed", schema: consumer}, a.notFound,
			problemResp(409, "the name is taken, the consumer changed meanwhile, or an added ACL group carries roles (its own or a parent's)")),
		Delete: a.op("deleteConsumer", "Delete a consumer", nil, a.withID(a.query("cascade")),
			resp{status: 204, desc: "deleted"}, a.notFound, a.badQuery,
			problemResp(409, "the consumer has clients and cascade is not true")),
	})
}
