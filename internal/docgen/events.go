package docgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/webhooks"
)

// Events is docs/reference/events.md: the audit actions (audit/actions.go) and the
// webhook event types they are announced as (webhooks/events.go).
func Events() ([]byte, error) {
	var d doc
	d.header("Events reference", "audit/actions.go and webhooks/events.go")
	d.line("Every change Keyward makes is recorded as an audit event, read with `GET /v1/audit`. Some are also")
	d.line("sent to webhook endpoints, as the event type beside them. How to read the trail and subscribe is in")
	d.line("[audit](../administering/audit.md) and [webhooks](../administering/webhooks.md).")
	d.line("")

	announced := map[string]bool{}
	d.line("## Audit actions")
	d.line("")
	var rows [][]string
	for _, a := range audit.Actions() {
		typ, ok := webhooks.EventType(a.Name)
		if ok {
			announced[typ] = true
			typ = code(typ)
		}
		rows = append(rows, []string{code(a.Name), code(a.Object), typ, text(a.Means)})
	}
	d.table([]string{"Action", "Object", "Webhook event", "What happened"}, rows)

	d.line("## Webhook event types")
	d.line("")
	d.line("An endpoint subscribes to event types, to a family (`key.*`) or to everything (`*`):")
	d.line("")
	var subs []string
	for _, s := range webhooks.Subscriptions() {
		subs = append(subs, code(s))
	}
	d.line(strings.Join(subs, ", "), ".")
	d.line("")
	for _, t := range webhooks.EventTypes() {
		if !announced[t] {
			return nil, fmt.Errorf("docgen: event type %s announces no catalogued audit action (audit/actions.go)", t)
		}
	}
	d.line("Each message is signed per the Standard Webhooks specification. Its body names the event type,")
	d.line("when the change happened, and the audit event without the caller's address; key material and")
	d.line("secrets never appear. For example, a created key (the ids are made up):")
	d.line("")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msg, ok := webhooks.Outbox(models.AuditEvent{
		ID: "0b5ad7a2-2bd0-4b8e-9f1e-3c43d1a6a001", At: at, ActorID: "5c1f3b7e-8d2a-4e0f-9a61-2b7c9d4e5f60", ActorName: "alice",
		Action: "key.create", TargetType: "key", TargetID: "7d0e9c1b-6f2a-4b3c-8e5d-1a2b3c4d5e6f",
		OwnerID: "5c1f3b7e-8d2a-4e0f-9a61-2b7c9d4e5f60", RequestID: "req-1",
		Details: `{"name":"ci","prefix":"kw_live_AbC123xyz789","environment":"production","roles":null}`,
	})
	if !ok {
		return nil, fmt.Errorf("docgen: key.create is not announced")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, msg.Payload, "", "  "); err != nil {
		return nil, err
	}
	d.line("```json")
	d.line(pretty.String())
	d.line("```")
	return d.bytes(), nil
}
