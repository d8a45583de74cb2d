package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// --- webhooks (admins) ---

// Webhook is an endpoint Keyward posts events to, signed per Standard Webhooks.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     bool     `json:"enabled"`
	// DisabledReason is "failing" when repeated failure turned the endpoint off.
	DisabledReason      *string         `json:"disabled_reason"`
	ConsecutiveFailures int             `json:"consecutive_failures"`
	FailingSince        *time.Time      `json:"failing_since"`
	PreviousSecretUntil *time.Time      `json:"previous_secret_until"`
	CreatedAt           time.Time       `json:"created_at"`
	UpdatedAt           time.Time       `json:"updated_at"`
	Raw                 json.RawMessage `json:"-"`
}

func (w *Webhook) setRaw(r json.RawMessage) { w.Raw = r }

// WebhookWithSecret is an endpoint with its signing secret (whsec_…), which only the
// answer that made it carries.
type WebhookWithSecret struct {
	Webhook
	Secret string `json:"secret"`
}

// WebhookCreate registers an endpoint; Enabled nil means enabled.
type WebhookCreate struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	EventTypes  []string `json:"event_types"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// WebhookUpdate changes the fields that are not nil.
type WebhookUpdate struct {
	URL         *string   `json:"url,omitempty"`
	Description *string   `json:"description,omitempty"`
	EventTypes  *[]string `json:"event_types,omitempty"`
	Enabled     *bool     `json:"enabled,omitempty"`
}

// WebhookAttempt is one try of a delivery; StatusCode nil: no HTTP answer.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"`
	Error      *string   `json:"error"`
	DurationMS int64     `json:"duration_ms"`
	Manual     bool      `json:"manual"`
}

// WebhookDelivery is one message for one endpoint; WebhookID is its webhook-id header.
type WebhookDelivery struct {
	ID            string           `json:"id"`
	WebhookID     string           `json:"webhook_id"`
	EventID       string           `json:"event_id"`
	EventType     string           `json:"event_type"`
	State         string           `json:"state"`
	AttemptCount  int              `json:"attempt_count"`
	NextAttemptAt *time.Time       `json:"next_attempt_at"`
	DeliveredAt   *time.Time       `json:"delivered_at"`
	CreatedAt     time.Time        `json:"created_at"`
	Attempts      []WebhookAttempt `json:"attempts"`
	Raw           json.RawMessage  `json:"-"`
}

func (d *WebhookDelivery) setRaw(r json.RawMessage) { d.Raw = r }

func webhookPath(id string) string { return "/v1/webhooks/" + url.PathEscape(id) }

func (m *Manager) CreateWebhook(ctx context.Context, in WebhookCreate) (WebhookWithSecret, error) {
	return one[WebhookWithSecret](ctx, m, http.MethodPost, "/v1/webhooks", nil, in)
}

func (m *Manager) ListWebhooks(ctx context.Context, cursor string, limit int) (Page[Webhook], error) {
	return list[Webhook](ctx, m, "/v1/webhooks", values("limit", limitValue(limit), "cursor", cursor))
}

func (m *Manager) Webhook(ctx context.Context, id string) (Webhook, error) {
	return one[Webhook](ctx, m, http.MethodGet, webhookPath(id), nil, nil)
}

func (m *Manager) UpdateWebhook(ctx context.Context, id string, in WebhookUpdate) (Webhook, error) {
	return one[Webhook](ctx, m, http.MethodPatch, webhookPath(id), nil, in)
}

// DeleteWebhook removes an endpoint with its delivery log.
func (m *Manager) DeleteWebhook(ctx context.Context, id string) error {
	return m.remove(ctx, webhookPath(id), nil)
}

// RotateWebhookSecret gives the endpoint a new secret; the old one keeps signing
// beside it for previousValidHours (0: it stops at once).
func (m *Manager) RotateWebhookSecret(ctx context.Context, id string, previousValidHours int) (WebhookWithSecret, error) {
	return one[WebhookWithSecret](ctx, m, http.MethodPost, webhookPath(id)+"/secret", nil,
		map[string]int{"previous_valid_hours": previousValidHours})
}

// WebhookDeliveries pages an endpoint's deliveries, newest first.
func (m *Manager) WebhookDeliveries(ctx context.Context, id, cursor string, limit int) (Page[WebhookDelivery], error) {
	return list[WebhookDelivery](ctx, m, webhookPath(id)+"/deliveries", values("limit", limitValue(limit), "cursor", cursor))
}

// RedeliverWebhook queues a delivery again, under the same webhook-id.
func (m *Manager) RedeliverWebhook(ctx context.Context, id, deliveryID string) (WebhookDelivery, error) {
	return one[WebhookDelivery](ctx, m, http.MethodPost, webhookPath(id)+"/deliveries/"+url.PathEscape(deliveryID)+"/redeliver", nil, nil)
}
