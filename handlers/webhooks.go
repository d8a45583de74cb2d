package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
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

type webhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     *bool    `json:"enabled"`
}

// webhookPatchRequest: absent (or null) fields stay as they are.
type webhookPatchRequest struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	EventTypes  *[]string `json:"event_types"`
	Enabled     *bool     `json:"enabled"`
}

type webhookResponse struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     bool     `json:"enabled"`
	// DisabledReason is "failing" when deliveries turned the endpoint off, else null.
	DisabledReason      *string    `json:"disabled_reason"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since"`
	// PreviousSecretUntil: while set, the rotated-out secret still signs too.
	PreviousSecretUntil *time.Time `json:"previous_secret_until"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// webhookSecretResponse is the one answer that carries the signing secret.
type webhookSecretResponse struct {
	webhookResponse
	Secret string `json:"secret"`
}

type webhookAttemptResponse struct {
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"` // null: no HTTP answer
	Error      *string   `json:"error"`
	DurationMS int64     `json:"duration_ms"`
	Manual     bool      `json:"manual"`
}

type webhookDeliveryResponse struct {
	ID            string                   `json:"id"`
	WebhookID     string                   `json:"webhook_id"`
	EventID       string                   `json:"event_id"`
	EventType     string                   `json:"event_type"`
	State         string                   `json:"state"`
	AttemptCount  int                      `json:"attempt_count"`
	NextAttemptAt *time.Time               `json:"next_attempt_at"`
	DeliveredAt   *time.Time               `json:"delivered_at"`
	CreatedAt     time.Time                `json:"created_at"`
	Payload       json.RawMessage          `json:"payload"`
	Attempts      []webhookAttemptResponse `json:"attempts"`
}

func toWebhookResponse(e webhooks.Endpoint) webhookResponse {
	return webhookResponse{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Enabled: e.Enabled,
		DisabledReason: nonEmpty(e.DisabledReason), ConsecutiveFailures: e.ConsecutiveFailures, FailingSince: e.FailingSince,
		PreviousSecretUntil: e.PreviousSecretUntil,
		CreatedAt:           e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

func toWebhookSecretResponse(w webhooks.WithSecret) webhookSecretResponse {
	return webhookSecretResponse{webhookResponse: toWebhookResponse(w.Endpoint), Secret: w.Secret}
}

func toWebhookDeliveryResponse(d webhooks.Delivery) webhookDeliveryResponse {
	out := webhookDeliveryResponse{ID: d.ID, WebhookID: d.MessageID, EventID: d.EventID, EventType: d.EventType,
		State: string(d.State), AttemptCount: d.AttemptCount, DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt.UTC(),
		NextAttemptAt: utcPtr(d.NextAttemptAt), Payload: json.RawMessage(d.Payload), Attempts: make([]webhookAttemptResponse, 0, len(d.Attempts))}
	for _, a := range d.Attempts {
		r := webhookAttemptResponse{At: a.At.UTC(), Error: nonEmpty(a.Error), DurationMS: a.DurationMS, Manual: a.Manual}
		if a.StatusCode != 0 {
			code := a.StatusCode
			r.StatusCode = &code
		}
		out.Attempts = append(out.Attempts, r)
	}
	return out
}

func (s *server) createWebhook(c *gin.Context) {
	withBody(c, func(req webhookRequest) error {
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
	replyToBody(c, http.StatusOK, func(req webhookPatchRequest) (webhooks.Endpoint, error) {
		return s.Webhooks.Update(c.Request.Context(), s.actor(c), c.Param("id"), webhooks.EndpointPatch{
			URL: req.URL, Description: req.Description, EventTypes: req.EventTypes, Enabled: req.Enabled,
		})
	}, toWebhookResponse)
}

func (s *server) deleteWebhook(c *gin.Context) {
	replyDeleted(c, s.Webhooks.Delete(c.Request.Context(), s.actor(c), c.Param("id")))
}

type rotateWebhookSecretRequest struct {
	PreviousValidHours int `json:"previous_valid_hours"`
}

func (s *server) rotateWebhookSecret(c *gin.Context) {
	var req rotateWebhookSecretRequest
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
	subscription := enum(webhooks.Subscriptions()...)
	types := arrayOf("event types, families such as key.* or *; each once", webhooks.MaxEventTypes, subscription)
	types.Value.WithMinItems(1)
	types.Value.UniqueItems = true
	urlSchema := text("an http or https URL; no user info or fragment; literal internal addresses are refused unless allowed by KEYWARD_WEBHOOK_ALLOWED_NETWORKS",
		1, webhooks.MaxURLLen)
	urlSchema.Value.Pattern = `^https?://[^#]+$`
	description := text("up to 500 characters", 0, webhooks.MaxDescriptionLen)
	endpointProps := map[string]*openapi3.SchemaRef{
		"id": openapi3.NewUUIDSchema().NewRef(), "url": urlSchema, "description": description,
		"event_types": types, "enabled": boolean(),
		"disabled_reason":      nullable(describe(enum(models.DisabledFailing), "failing: deliveries turned it off; null otherwise")),
		"consecutive_failures": integer(0, 0), "failing_since": nullable(dateTime()),
		"previous_secret_until": nullable(describe(dateTime(), "until then the rotated-out secret signs too")),
		"created_at":            a.time, "updated_at": a.time,
	}
	required := []string{"id", "url", "description", "event_types", "enabled", "disabled_reason",
		"consecutive_failures", "failing_since", "previous_secret_until", "created_at", "updated_at"}
	endpoint := object(endpointProps, required...)
	withSecret := extend(endpoint, map[string]*openapi3.SchemaRef{
		"secret": patterned("the signing secret, shown in this answer only", `^whsec_[A-Za-z0-9+/]+=*$`),
	}, "secret")
	// Requests state the shape CheckURL admits; answers keep the looser pattern.
	urlIn := patterned(urlSchema.Value.Description, webhooks.URLPattern)
	urlIn.Value.WithMinLength(1).WithMaxLength(webhooks.MaxURLLen)
	descriptionIn := safeIn(describe(description.Value.NewRef(), "up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"), true)
	body := requestObject(map[string]*openapi3.SchemaRef{
		"url": urlIn, "description": descriptionIn, "event_types": types, "enabled": describe(boolean(), "default true"),
	}, "url", "event_types")
	patch := requestObject(map[string]*openapi3.SchemaRef{
		"url": urlIn, "description": descriptionIn, "event_types": types,
		"enabled": describe(boolean(), "true also clears the run of failures"),
	})
	patch.Value.WithMinProperties(1)
	patch.Value.Description = "at least one field that is not null; absent or null fields stay as they are"
	attempt := object(map[string]*openapi3.SchemaRef{
		"at": dateTime(), "status_code": nullable(integer(100, 599)), "error": nullable(str("why the attempt failed")),
		"duration_ms": integer(0, 0), "manual": boolean(),
	}, "at", "status_code", "error", "duration_ms", "manual")
	delivery := object(map[string]*openapi3.SchemaRef{
		"id": openapi3.NewUUIDSchema().NewRef(), "webhook_id": str("the webhook-id header: the same on every attempt"),
		"event_id": openapi3.NewUUIDSchema().NewRef(), "event_type": enum(webhooks.EventTypes()...),
		"state":         enum(models.DeliveryPending, models.DeliverySucceeded, models.DeliveryFailed),
		"attempt_count": integer(0, 0), "next_attempt_at": nullable(dateTime()), "delivered_at": nullable(dateTime()),
		"created_at": dateTime(), "payload": freeForm("the body as sent: {type, timestamp, data}"),
		"attempts": arrayOf("oldest first", 0, attempt),
	}, "id", "webhook_id", "event_id", "event_type", "state", "attempt_count", "next_attempt_at", "delivered_at",
		"created_at", "payload", "attempts")
	deliveryID := &openapi3.ParameterRef{Value: openapi3.NewPathParameter("delivery_id").WithSchema(openapi3.NewUUIDSchema())}
	paging := a.query("limit", "cursor")
	doc.Paths.Set("/v1/webhooks", &openapi3.PathItem{
		Post: a.op("createWebhook", "Register a webhook endpoint; the answer alone carries its signing secret", body, nil,
			resp{status: 201, desc: "registered", schema: withSecret}),
		Get: a.op("listWebhooks", "List webhook endpoints, newest first", nil, paging,
			resp{status: 200, desc: "a page of endpoints", schema: listSchema(endpoint)}, a.badQuery),
	})
	doc.Paths.Set("/v1/webhooks/{id}", &openapi3.PathItem{
		Get: a.op("getWebhook", "Read a webhook endpoint", nil, a.id, resp{status: 200, desc: "the endpoint", schema: endpoint}, a.notFound),
		Patch: a.op("updateWebhook", "Change a webhook endpoint", patch, a.id,
			resp{status: 200, desc: "the endpoint as changed", schema: endpoint}, a.notFound),
		Delete: a.op("deleteWebhook", "Delete a webhook endpoint with its delivery log", nil, a.id,
			resp{status: 204, desc: "deleted"}, a.notFound),
	})
	rotate := a.op("rotateWebhookSecret", "New signing secret; the old one signs beside it for previous_valid_hours (default 0: it stops at once)",
		requestObject(map[string]*openapi3.SchemaRef{"previous_valid_hours": integer(0, webhooks.MaxPreviousValidHours)}), a.id,
		resp{status: 200, desc: "the endpoint with its new secret, shown once", schema: withSecret}, a.notFound)
	rotate.RequestBody.Value.Required = false
	doc.Paths.Set("/v1/webhooks/{id}/secret", &openapi3.PathItem{Post: rotate})
	doc.Paths.Set("/v1/webhooks/{id}/deliveries", &openapi3.PathItem{
		Get: a.op("listWebhookDeliveries", "The endpoint's deliveries, newest first, each with its attempts", nil, a.withID(paging),
			resp{status: 200, desc: "a page of deliveries", schema: listSchema(delivery)}, a.notFound, a.badQuery),
	})
	doc.Paths.Set("/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", &openapi3.PathItem{
		Post: a.op("redeliverWebhook", "Send a delivery again now, under the same webhook-id, with a new day of retries", nil,
			append(append(openapi3.Parameters{}, a.id...), deliveryID),
			resp{status: 202, desc: "queued", schema: delivery}, a.notFound,
			problemResp(409, "the endpoint is disabled, or an attempt of the delivery is under way")),
	})
}
