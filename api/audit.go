package api

import (
	"encoding/json"
	"time"
)

// AuditEvent is one entry of the audit trail.
type AuditEvent struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor" doc:"user id"`
	ActorName  string    `json:"actor_name"`
	Action     string    `json:"action" doc:"e.g. key.create, key.rotate"`
	TargetType string    `json:"target_type" doc:"e.g. key, consumer, client"`
	TargetID   string    `json:"target_id"`
	Owner      string    `json:"owner" doc:"user id of the target's owner"`
	// OnBehalfOf is the user an admin acted for (their id), null otherwise.
	OnBehalfOf *string         `json:"on_behalf_of" doc:"the user an admin acted for"`
	IP         string          `json:"ip"`
	RequestID  string          `json:"request_id"`
	Details    json.RawMessage `json:"details"`
}

func (AuditEvent) Rules() Rules { return Rules{"id": {Format: "uuid"}} }
