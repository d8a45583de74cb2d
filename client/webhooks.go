package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/keyward/keyward/api"
)

// --- webhooks (admins) ---

// Webhook is an endpoint Keyward posts events to, signed per Standard Webhooks.
type Webhook struct {
	api.Webhook
	Raw json.RawMessage `json:"-"`
}

func (w *Webhook) setRaw(r json.RawMessage) { w.Raw = r }

// WebhookWithSecret is an endpoint with its signing secret (whsec_…), which only the
// answer that made it carries.
type WebhookWithSecret struct {
	api.WebhookWithSecret
	Raw json.RawMessage `json:"-"`
}

func (w *WebhookWithSecret) setRaw(r json.RawMessage) { w.Raw = r }

type (
	WebhookCreate  = api.WebhookCreate // Enabled nil means enabled
	WebhookUpdate  = api.WebhookUpdate // changes the fields that are not nil
	WebhookAttempt = api.WebhookAttempt
)

// WebhookDelivery is one message for one endpoint; WebhookID is its webhook-id header.
type WebhookDelivery struct {
	api.WebhookDelivery
	Raw json.RawMessage `json:"-"`
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
		api.WebhookSecretRotate{PreviousValidHours: previousValidHours})
}

// WebhookDeliveries pages an endpoint's deliveries, newest first.
func (m *Manager) WebhookDeliveries(ctx context.Context, id, cursor string, limit int) (Page[WebhookDelivery], error) {
	return list[WebhookDelivery](ctx, m, webhookPath(id)+"/deliveries", values("limit", limitValue(limit), "cursor", cursor))
}

// RedeliverWebhook queues a delivery again, under the same webhook-id.
func (m *Manager) RedeliverWebhook(ctx context.Context, id, deliveryID string) (WebhookDelivery, error) {
	return one[WebhookDelivery](ctx, m, http.MethodPost, webhookPath(id)+"/deliveries/"+url.PathEscape(deliveryID)+"/redeliver", nil, nil)
}
