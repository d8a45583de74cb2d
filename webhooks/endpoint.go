package webhooks

import (
	"slices"
	"time"

	"github.com/keyward/keyward/models"
)

// Endpoint is a receiver as the service hands it out: never its secrets.
type Endpoint struct {
	ID          string
	URL         string
	Description string
	EventTypes  []string // never nil
	Enabled     bool
	// DisabledReason is DisabledFailing when the dispatcher turned it off, else "".
	DisabledReason string
	// ConsecutiveFailures and FailingSince describe the current run of failed attempts.
	ConsecutiveFailures int
	FailingSince        *time.Time
	// PreviousSecretUntil: a rotated-out secret signs beside the current one until then.
	PreviousSecretUntil *time.Time
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// DisabledFailing is the DisabledReason of an endpoint turned off after repeated failure.
const DisabledFailing = models.DisabledFailing

// endpointOf maps a stored endpoint, leaving its sealed secrets behind.
func endpointOf(e models.WebhookEndpoint) Endpoint {
	types := slices.Clone([]string(e.EventTypes))
	if types == nil {
		types = []string{}
	}
	return Endpoint{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: types, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, ConsecutiveFailures: e.ConsecutiveFailures, FailingSince: e.FailingSince,
		PreviousSecretUntil: e.PreviousSecretUntil, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}
