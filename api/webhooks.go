package api

import (
	"encoding/json"
	"time"
)

// Bounds of webhook endpoints, as the webhooks service enforces them.
const (
	WebhookURLMax         = 2000
	WebhookDescriptionMax = 500
	WebhookEventTypesMax  = 32
	// WebhookPreviousValidHoursMax bounds how long a rotated-out secret keeps signing.
	WebhookPreviousValidHoursMax = 168
	// WebhookURLPattern is the shape the service's URL check admits (ECMA-262 and Go
	// read it alike): http or https, a host without user info, a port up to 65535, a
	// path of valid percent escapes, no fragment, no blank or control character. Which
	// literal addresses are refused depends on KEYWARD_WEBHOOK_ALLOWED_NETWORKS: not here.
	WebhookURLPattern = `^https?://[A-Za-z0-9._~!$&'()*+,;=-]+` +
		`(:([0-9]{0,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?` +
		`(/(%[0-9A-Fa-f]{2}|[^%?#\x00-\x20\x7f-\x9f])*)?(\?[^#\x00-\x20\x7f-\x9f]*)?$`
	// WebhookSecretPattern is a signing secret (Standard Webhooks).
	WebhookSecretPattern = `^whsec_[A-Za-z0-9+/]+=*$`
)

// WebhookDisabledFailing is the disabled_reason of an endpoint that repeated failure
// turned off; an admin turning one off leaves it null.
const WebhookDisabledFailing = "failing"

// States of a webhook delivery.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt (or one is under way)
	DeliverySucceeded = "succeeded" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // retries gave up
)

// The enums whose values are the server's event catalog (EnumFrom).
const (
	EnumWebhookSubscriptions = "webhook subscriptions" // event types and families (key.*, *)
	EnumEventTypes           = "event types"
)

// webhookEventTypes is a list of subscriptions.
var webhookEventTypes = Rule{MinItems: 1, MaxItems: WebhookEventTypesMax, Unique: true, Items: &Rule{EnumFrom: EnumWebhookSubscriptions}}

// Webhook is an endpoint Keyward posts events to, signed per Standard Webhooks.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url" doc:"an http or https URL; no user info or fragment; literal internal addresses are refused unless allowed by KEYWARD_WEBHOOK_ALLOWED_NETWORKS"`
	Description string   `json:"description" doc:"up to 500 characters"`
	EventTypes  []string `json:"event_types" doc:"event types, families such as key.* or *; each once"`
	Enabled     bool     `json:"enabled"`
	// DisabledReason is "failing" when repeated failure turned the endpoint off.
	DisabledReason      *string    `json:"disabled_reason" doc:"failing: deliveries turned it off; null otherwise"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until" doc:"until then the rotated-out secret signs too"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

func (Webhook) Rules() Rules {
	return Rules{"id": {Format: "uuid"}, "url": {MinLen: 1, MaxLen: WebhookURLMax, Pattern: `^https?://[^#]+$`},
		"description": {MaxLen: WebhookDescriptionMax}, "event_types": webhookEventTypes,
		"disabled_reason": {Enum: []string{WebhookDisabledFailing}}}
}

// WebhookWithSecret is an endpoint with its signing secret (whsec_…), which only the
// answer that made it carries.
type WebhookWithSecret struct {
	Webhook
	Secret string `json:"secret" doc:"the signing secret, shown in this answer only"`
}

func (WebhookWithSecret) Rules() Rules { return Rules{"secret": {Pattern: WebhookSecretPattern}} }

// WebhookCreate registers an endpoint; Enabled nil means enabled.
type WebhookCreate struct {
	URL         string   `json:"url" doc:"an http or https URL; no user info or fragment; literal internal addresses are refused unless allowed by KEYWARD_WEBHOOK_ALLOWED_NETWORKS"`
	Description string   `json:"description,omitempty" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	EventTypes  []string `json:"event_types" doc:"event types, families such as key.* or *; each once"`
	Enabled     *bool    `json:"enabled,omitempty" doc:"default true"`
}

// webhookURLIn: requests state the shape the service admits; answers keep a looser one.
var webhookURLIn = Rule{MinLen: 1, MaxLen: WebhookURLMax, Pattern: WebhookURLPattern}

func (WebhookCreate) Rules() Rules {
	url, types := webhookURLIn, webhookEventTypes
	url.Required, types.Required = true, true
	return Rules{"url": url, "description": {MaxLen: WebhookDescriptionMax, Safe: SafeMultiline}, "event_types": types}
}

// WebhookUpdate changes the fields that are not nil (at least one).
type WebhookUpdate struct {
	URL         *string   `json:"url,omitempty" doc:"an http or https URL; no user info or fragment; literal internal addresses are refused unless allowed by KEYWARD_WEBHOOK_ALLOWED_NETWORKS"`
	Description *string   `json:"description,omitempty" doc:"up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks"`
	EventTypes  *[]string `json:"event_types,omitempty" doc:"event types, families such as key.* or *; each once"`
	Enabled     *bool     `json:"enabled,omitempty" doc:"true also clears the run of failures"`
}

func (WebhookUpdate) Rules() Rules {
	return Rules{"url": webhookURLIn, "description": {MaxLen: WebhookDescriptionMax, Safe: SafeMultiline}, "event_types": webhookEventTypes}
}

// WebhookSecretRotate is the optional body of a secret rotation.
type WebhookSecretRotate struct {
	PreviousValidHours int `json:"previous_valid_hours"`
}

func (WebhookSecretRotate) Rules() Rules {
	return Rules{"previous_valid_hours": Between(0, WebhookPreviousValidHoursMax)}
}

// WebhookAttempt is one try of a delivery; StatusCode nil: no HTTP answer.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"`
	Error      *string   `json:"error" doc:"why the attempt failed"`
	DurationMS int64     `json:"duration_ms"`
	Manual     bool      `json:"manual"`
}

func (WebhookAttempt) Rules() Rules { return Rules{"status_code": Between(100, 599)} }

// WebhookDelivery is one message for one endpoint; WebhookID is its webhook-id header.
type WebhookDelivery struct {
	ID            string           `json:"id"`
	WebhookID     string           `json:"webhook_id" doc:"the webhook-id header: the same on every attempt"`
	EventID       string           `json:"event_id"`
	EventType     string           `json:"event_type"`
	State         string           `json:"state"`
	AttemptCount  int              `json:"attempt_count"`
	NextAttemptAt *time.Time       `json:"next_attempt_at"`
	DeliveredAt   *time.Time       `json:"delivered_at"`
	CreatedAt     time.Time        `json:"created_at"`
	Payload       json.RawMessage  `json:"payload" doc:"the body as sent: {type, timestamp, data}"`
	Attempts      []WebhookAttempt `json:"attempts" doc:"oldest first"`
}

func (WebhookDelivery) Rules() Rules {
	return Rules{"id": {Format: "uuid"}, "event_id": {Format: "uuid"}, "event_type": {EnumFrom: EnumEventTypes},
		"state": {Enum: []string{DeliveryPending, DeliverySucceeded, DeliveryFailed}}}
}
