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
