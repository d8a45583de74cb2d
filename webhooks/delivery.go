package webhooks

import (
	"time"

	"github.com/keyward/keyward/models"
)

// DeliveryState is where a delivery stands.
type DeliveryState string

// The states of a delivery.
const (
	DeliveryPending   DeliveryState = models.DeliveryPending   // waiting for its next attempt (or one is under way)
	DeliverySucceeded DeliveryState = models.DeliverySucceeded // the receiver answered 2xx
	DeliveryFailed    DeliveryState = models.DeliveryFailed    // retries gave up
)

// Delivery is one message queued for one endpoint, with its attempts, oldest first.
type Delivery struct {
	ID         string
	EndpointID string
	EventID    string
	MessageID  string // the webhook-id, the same on every attempt
	EventType  string
	Payload    string // the body exactly as it is signed and sent
	State      DeliveryState
	// AttemptCount counts the attempts, Attempts lists them.
	AttemptCount int
	// NextAttemptAt is when a pending delivery is due; nil once it is finished.
	NextAttemptAt *time.Time
	DeliveredAt   *time.Time
	LastStatus    int // 0: no HTTP answer (yet)
	LastError     string
	CreatedAt     time.Time
	Attempts      []Attempt
}

// Attempt is one try of a delivery: what the receiver answered, or why there was none.
type Attempt struct {
	At         time.Time
	StatusCode int // 0: no HTTP answer
	Error      string
	DurationMS int64
	Manual     bool // it followed an admin's redelivery
}

// deliveryOf maps a stored delivery and its attempts.
func deliveryOf(d models.WebhookDelivery, attempts []models.WebhookAttempt) Delivery {
	out := Delivery{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, MessageID: d.MessageID, EventType: d.EventType,
		Payload: d.Payload, State: DeliveryState(d.State), AttemptCount: d.Attempts, DeliveredAt: d.DeliveredAt,
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt, Attempts: make([]Attempt, 0, len(attempts))}
	if out.State == DeliveryPending {
		next := d.NextAttemptAt
		out.NextAttemptAt = &next
	}
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, Attempt{At: a.At, StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.DurationMS, Manual: a.Manual})
	}
	return out
}
