// Package audit records who changed what, when and from where, and reads the trail
// back (Reader) under one rule: admins read every event, others their own. Services
// call it after a change succeeds; it never receives secret material.
package audit

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/models"
)

// Actor is the caller behind a change, as the HTTP layer saw it.
type Actor struct {
	ID        string // Keycloak user id
	Name      string // preferred_username
	IP        string
	RequestID string
	Admin     bool
	// OnBehalfOf is the user whose object an admin acts on (their Keycloak id), set by
	// the service when the actor is not the owner; the owner sees it in their audit view.
	OnBehalfOf string
}

// Store persists events.
type Store interface {
	RecordAudit(ctx context.Context, ev *models.AuditEvent) error
}

// Recorder writes audit events.
type Recorder struct {
	store Store
	log   *zap.Logger
	clock func() time.Time
}

// NewRecorder returns a Recorder; clock may be nil.
func NewRecorder(store Store, log *zap.Logger, clock func() time.Time) *Recorder {
	if clock == nil {
		clock = time.Now
	}
	return &Recorder{store: store, log: log, clock: clock}
}

// Record stores one event. The change it describes has already happened, so a failure
// to record is logged loudly rather than undoing the change; details must hold no secret.
func (r *Recorder) Record(ctx context.Context, a Actor, action, targetType, targetID, ownerID string, details map[string]any) {
	if r == nil {
		return
	}
	if err := r.RecordStrict(ctx, a, action, targetType, targetID, ownerID, details); err != nil {
		r.log.Error("audit event not recorded", zap.String("action", action),
			zap.String("target_type", targetType), zap.String("target_id", targetID),
			zap.String("request_id", a.RequestID), zap.Error(err))
	}
}

// RecordStrict stores one event and says whether it was stored: for acts that must
// not happen unaudited (showing a secret), which the caller then refuses.
func (r *Recorder) RecordStrict(ctx context.Context, a Actor, action, targetType, targetID, ownerID string, details map[string]any) error {
	if r == nil {
		return nil
	}
	raw := []byte("{}")
	if len(details) > 0 {
		if b, err := json.Marshal(details); err == nil {
			raw = b
		}
	}
	ev := &models.AuditEvent{
		At: r.clock(), ActorID: a.ID, ActorName: a.Name, Action: action,
		TargetType: targetType, TargetID: targetID, OwnerID: ownerID, OnBehalfOf: a.OnBehalfOf,
		IP: a.IP, RequestID: a.RequestID, Details: string(raw),
	}
	return r.store.RecordAudit(context.WithoutCancel(ctx), ev)
}
