// Package webhooks tells receivers what happened: the catalogue of event types and
// their payloads, the signing of messages per the Standard Webhooks specification,
// the dispatcher that delivers what the store's outbox queued (claimed by one replica,
// retried with backoff), the guard that keeps deliveries off internal addresses, and
// the admin service of endpoints. It knows no HTTP routes and no SQL; key material
// and secrets never enter a payload.
package webhooks

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
)

// eventTypes maps audit actions to the webhook event types they are announced as.
var eventTypes = map[string]string{
	"key.create":      "key.created",
	"key.rotate":      "key.rotated",
	"key.update":      "key.updated",
	"key.disable":     "key.disabled",
	"key.enable":      "key.enabled",
	"key.delete":      "key.revoked",
	"key.expiring":    "key.expiring",
	"key.expired":     "key.expired",
	"key.leaked":      "key.leaked",
	"consumer.create": "consumer.created",
	"consumer.update": "consumer.updated",
	"consumer.delete": "consumer.deleted",
	"client.create":   "client.created",
	"client.update":   "client.updated",
	"client.delete":   "client.deleted",
}

// EventType is the event type an audit action is announced as, if it is announced.
func EventType(action string) (string, bool) {
	t, ok := eventTypes[action]
	return t, ok
}

// EventTypes lists every event type, sorted.
func EventTypes() []string {
	out := make([]string, 0, len(eventTypes))
	for _, t := range eventTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Subscriptions lists what an endpoint may subscribe to: each event type, each
// family ("key.*") and "*".
func Subscriptions() []string {
	out := []string{"*"}
	seen := map[string]bool{}
	for _, t := range EventTypes() {
		family, _, _ := strings.Cut(t, ".")
		if !seen[family] {
			seen[family] = true
			out = append(out, family+".*")
		}
	}
	return append(out, EventTypes()...)
}

// Payload is the body of a message, in the Standard Webhooks shape.
type Payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"` // when the change happened, RFC 3339
	Data      Data   `json:"data"`
}

// Data is what a message says of the change: the audit event, without the caller's
// address, and never key material or a secret.
type Data struct {
	EventID    string `json:"event_id"` // the audit event's id
	Object     string `json:"object"`   // key, consumer, client
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Prefix     string `json:"prefix,omitempty"` // a key's public part
	Owner      string `json:"owner"`            // keys: the owner's user id; clients: the consumer id
	Actor      Actor  `json:"actor"`
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	// Details are the audit event's details.
	Details map[string]any `json:"details"`
}

// Actor is who made the change.
type Actor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// secretNames are detail names that are never sent, whatever a caller put there.
var secretNames = []string{"key", "secret", "client_secret", "token", "access_token", "refresh_token", "password", "plaintext"}

// keyText is the whole text of an API key (exchange's format): a value like it is
// replaced, should one ever reach the details.
var keyText = regexp.MustCompile(`kw_(live|test)_[0-9A-Za-z]{20,}_[0-9A-Za-z]{6}`)

// Outbox is the store's outbox (models.Outbox): the message an audit event is
// announced as, if it is a webhook event.
func Outbox(ev models.AuditEvent) (models.OutboxMessage, bool) {
	typ, ok := eventTypes[ev.Action]
	if !ok {
		return models.OutboxMessage{}, false
	}
	details := map[string]any{}
	_ = json.Unmarshal([]byte(ev.Details), &details) // the recorder wrote an object
	details = scrub(details).(map[string]any)
	d := Data{
		EventID: ev.ID, Object: ev.TargetType, ID: ev.TargetID, Owner: ev.OwnerID,
		Actor: Actor{ID: ev.ActorID, Name: ev.ActorName}, OnBehalfOf: ev.OnBehalfOf, RequestID: ev.RequestID,
		Details: details,
	}
	d.Name, _ = details["name"].(string)
	d.Prefix, _ = details["prefix"].(string)
	body, err := json.Marshal(Payload{Type: typ, Timestamp: ev.At.UTC().Format(time.RFC3339Nano), Data: d})
	if err != nil {
		return models.OutboxMessage{}, false
	}
	return models.OutboxMessage{EventType: typ, Payload: body}, true
}

// scrub drops secret-named members and masks key-like text, at any depth.
func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if slices.Contains(secretNames, strings.ToLower(k)) {
				continue
			}
			out[k] = scrub(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = scrub(x[i])
		}
		return x
	case string:
		return keyText.ReplaceAllString(x, "[redacted]")
	}
	return v
}
