package webhooks

import (
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestEndpointOf_MapsTheRow_WithoutSecrets(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	row := models.WebhookEndpoint{ID: "e1", URL: "https://h.example/x", Description: "d", EventTypes: models.StringList{"key.*"},
		Enabled: false, DisabledReason: models.DisabledFailing, SecretSealed: []byte("sealed"), ConsecutiveFailures: 4,
		FailingSince: &at, PreviousSecretUntil: &at, CreatedBy: "u1", CreatedAt: at, UpdatedAt: at}
	e := endpointOf(row)
	if e.ID != "e1" || e.URL != row.URL || e.Description != "d" || len(e.EventTypes) != 1 || e.EventTypes[0] != "key.*" ||
		e.Enabled || e.DisabledReason != DisabledFailing || e.ConsecutiveFailures != 4 || e.FailingSince != &at ||
		e.PreviousSecretUntil != &at || e.CreatedBy != "u1" || !e.CreatedAt.Equal(at) || !e.UpdatedAt.Equal(at) {
		t.Fatalf("mapped as %+v", e)
	}
	e.EventTypes[0] = "changed"
	if row.EventTypes[0] != "key.*" {
		t.Fatal("the domain value shares the row's list")
	}
	if types := endpointOf(models.WebhookEndpoint{}).EventTypes; types == nil || len(types) != 0 {
		t.Fatalf("no types mapped as %#v", types)
	}
}

func TestDeliveryOf_NextAttemptOnlyWhilePending(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	row := models.WebhookDelivery{ID: "d1", EndpointID: "e1", EventID: "ev", MessageID: "msg_ev", EventType: "key.create",
		Payload: `{"a":1}`, State: models.DeliveryPending, Attempts: 1, NextAttemptAt: at, LastStatus: 500, LastError: "x", CreatedAt: at}
	tries := []models.WebhookAttempt{{At: at, StatusCode: 500, Error: "x", DurationMS: 7, Manual: true}}
	d := deliveryOf(row, tries)
	if d.State != DeliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(at) || d.AttemptCount != 1 ||
		d.MessageID != "msg_ev" || d.Payload != `{"a":1}` || d.LastStatus != 500 || len(d.Attempts) != 1 ||
		d.Attempts[0] != (Attempt{At: at, StatusCode: 500, Error: "x", DurationMS: 7, Manual: true}) {
		t.Fatalf("mapped as %+v", d)
	}
	row.State = models.DeliverySucceeded
	if d := deliveryOf(row, nil); d.NextAttemptAt != nil || d.Attempts == nil {
		t.Fatalf("a finished delivery mapped as %+v", d)
	}
}
