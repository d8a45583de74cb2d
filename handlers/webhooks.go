package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/webhooks"
)

// requireWebhooks answers 503 where main wired no webhook service.
func (s *server) requireWebhooks(c *gin.Context) {
	if s.Webhooks == nil {
		writeProblem(c, problem{Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
			Detail: "webhooks are not configured on this instance"})
		return
	}
	c.Next()
}

func toWebhookResponse(e webhooks.Endpoint) api.Webhook {
	return api.Webhook{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Enabled: e.Enabled,
		DisabledReason: nonEmpty(e.DisabledReason), ConsecutiveFailures: e.ConsecutiveFailures, FailingSince: e.FailingSince,
		PreviousSecretUntil: e.PreviousSecretUntil,
		CreatedAt:           e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

func toWebhookSecretResponse(w webhooks.WithSecret) api.WebhookWithSecret {
	return api.WebhookWithSecret{Webhook: toWebhookResponse(w.Endpoint), Secret: w.Secret}
}

func toWebhookDeliveryResponse(d webhooks.Delivery) api.WebhookDelivery {
	out := api.WebhookDelivery{ID: d.ID, WebhookID: d.MessageID, EventID: d.EventID, EventType: d.EventType,
		State: string(d.State), AttemptCount: d.AttemptCount, DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt.UTC(),
		NextAttemptAt: utcPtr(d.NextAttemptAt), Payload: json.RawMessage(d.Payload), Attempts: make([]api.WebhookAttempt, 0, len(d.Attempts))}
	for _, a := range d.Attempts {
		r := api.WebhookAttempt{At: a.At.UTC(), Error: nonEmpty(a.Error), DurationMS: a.DurationMS, Manual: a.Manual}
		if a.StatusCode != 0 {
			code := a.StatusCode
			r.StatusCode = &code
		}
		out.Attempts = append(out.Attempts, r)
	}
	return out
}

func (s *server) createWebhook(c *gin.Context) {
	withBody(c, func(req api.WebhookCreate) error {
		created, err := s.Webhooks.Create(c.Request.Context(), s.actor(c), webhooks.EndpointInput{
			URL: req.URL, Description: req.Description, EventTypes: req.EventTypes, Enabled: req.Enabled,
		})
		if err != nil {
			return err
		}
		c.Header("Location", "/v1/webhooks/"+created.Endpoint.ID)
		answer(c, http.StatusCreated, toWebhookSecretResponse(created))
		return nil
	})
}

// pageQuery reads the limit and cursor of a list.
func pageQuery(c *gin.Context) (url.Values, int, bool) {
	var limit int
	q, ok := withQuery(c, func(q url.Values, f *[]errs.FieldError) { limit = limitParam(q, f) }, "limit", "cursor")
	return q, limit, ok
}

func (s *server) listWebhooks(c *gin.Context) {
	q, limit, ok := pageQuery(c)
	if !ok {
		return
	}
	p, err := s.Webhooks.List(c.Request.Context(), q.Get("cursor"), limit)
	replyList(c, p.Items, p.NextCursor, err, toWebhookResponse)
}

func (s *server) getWebhook(c *gin.Context) {
	ep, err := s.Webhooks.Endpoint(c.Request.Context(), c.Param("id"))
	reply(c, http.StatusOK, ep, err, toWebhookResponse)
}

func (s *server) updateWebhook(c *gin.Context) {
	replyToBody(c, http.StatusOK, func(req api.WebhookUpdate) (webhooks.Endpoint, error) {
		return s.Webhooks.Update(c.Request.Context(), s.actor(c), c.Param("id"), webhooks.EndpointPatch{
			URL: req.URL, Description: req.Description, EventTypes: req.EventTypes, Enabled: req.Enabled,
		})
	}, toWebhookResponse)
}

func (s *server) deleteWebhook(c *gin.Context) {
	replyDeleted(c, s.Webhooks.Delete(c.Request.Context(), s.actor(c), c.Param("id")))
}

func (s *server) rotateWebhookSecret(c *gin.Context) {
	var req api.WebhookSecretRotate
	if c.Request.ContentLength != 0 && c.Request.Body != http.NoBody { // the body is optional
		if err := bindJSON(c, &req); err != nil {
			_ = c.Error(err)
			return
		}
	}
	created, err := s.Webhooks.RotateSecret(c.Request.Context(), s.actor(c), c.Param("id"), req.PreviousValidHours)
	reply(c, http.StatusOK, created, err, toWebhookSecretResponse)
}

func (s *server) listWebhookDeliveries(c *gin.Context) {
	q, limit, ok := pageQuery(c)
	if !ok {
		return
	}
	p, err := s.Webhooks.Deliveries(c.Request.Context(), c.Param("id"), q.Get("cursor"), limit)
	replyList(c, p.Items, p.NextCursor, err, toWebhookDeliveryResponse)
}

func (s *server) redeliverWebhook(c *gin.Context) {
	d, err := s.Webhooks.Redeliver(c.Request.Context(), s.actor(c), c.Param("id"), c.Param("delivery_id"))
	reply(c, http.StatusAccepted, d, err, toWebhookDeliveryResponse)
}

// --- OpenAPI ---

// webhookPaths documents the webhook routes.
func webhookPaths(doc *openapi3.T, a adminDoc) {
	endpoint := responseSchema[api.Webhook]()
	withSecret := responseSchema[api.WebhookWithSecret]()
	body := requestSchema[api.WebhookCreate]()
	patch := requestSchema[api.WebhookUpdate]()
	patch.Value.WithMinProperties(1)
	patch.Value.Description = "at least one field that is not null; absent or null fields stay as they are"
	delivery := responseSchema[api.WebhookDelivery]()
	deliveryID := &openapi3.ParameterRef{Value: openapi3.NewPathParameter("delivery_id").WithSchema(openapi3.NewUUIDSchema())}
	paging := a.query("limit", "cursor")
	doc.Paths.Set("/v1/webhooks", &openapi3.PathItem{
		Post: a.op("createWebhook", "Register a webhook endpoint; the answer alone carries its signing secret", body, nil,
			resp{status: 201, desc: "registered", schema: withSecret}),
		Get: a.op("listWebhooks", "List webhook endpoints, newest first", nil, paging,
			resp{status: 200, desc: "a page of endpoints", schema: responseSchema[api.Page[api.Webhook]]()}, a.badQuery),
	})
	doc.Paths.Set("/v1/webhooks/{id}", &openapi3.PathItem{
		Get: a.op("getWebhook", "Read a webhook endpoint", nil, a.id, resp{status: 200, desc: "the endpoint", schema: endpoint}, a.notFound),
		Patch: a.op("updateWebhook", "Change a webhook endpoint", patch, a.id,
			resp{status: 200, desc: "the endpoint as changed", schema: endpoint}, a.notFound),
		Delete: a.op("deleteWebhook", "Delete a webhook endpoint with its delivery log", nil, a.id,
			resp{status: 204, desc: "deleted"}, a.notFound),
	})
	rotate := a.op("rotateWebhookSecret", "New signing secret; the old one signs beside it for previous_valid_hours (default 0: it stops at once)",
		requestSchema[api.WebhookSecretRotate](), a.id,
		resp{status: 200, desc: "the endpoint with its new secret, shown once", schema: withSecret}, a.notFound)
	rotate.RequestBody.Value.Required = false
	doc.Paths.Set("/v1/webhooks/{id}/secret", &openapi3.PathItem{Post: rotate})
	doc.Paths.Set("/v1/webhooks/{id}/deliveries", &openapi3.PathItem{
		Get: a.op("listWebhookDeliveries", "The endpoint's deliveries, newest first, each with its attempts", nil, a.withID(paging),
			resp{status: 200, desc: "a page of deliveries", schema: responseSchema[api.Page[api.WebhookDelivery]]()}, a.notFound, a.badQuery),
	})
	doc.Paths.Set("/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", &openapi3.PathItem{
		Post: a.op("redeliverWebhook", "Send a delivery again now, under the same webhook-id, with a new day of retries", nil,
			append(append(openapi3.Parameters{}, a.id...), deliveryID),
			resp{status: 202, desc: "queued", schema: delivery}, a.notFound,
			problemResp(409, "the endpoint is disabled, or an attempt of the delivery is under way")),
	})
}
