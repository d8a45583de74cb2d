package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// AuditEvent records who did what to which object, when and from where. It never holds
// secret material: callers pass ids and field names, not keys or client secrets.
type AuditEvent struct {
	ID         string    `gorm:"primaryKey;size:36"`
	At         time.Time `gorm:"not null;index:idx_audit_at"`
	ActorID    string    `gorm:"not null;index:idx_audit_actor"` // Keycloak user id of the caller
	ActorName  string    `gorm:"not null"`
	Action     string    `gorm:"not null"` // e.g. key.create, key.delete, consumer.update
	TargetType string    `gorm:"not null"` // key, consumer, client, acl_group
	TargetID   string    `gorm:"not null;index:idx_audit_target"`
	OwnerID    string    `gorm:"not null;index:idx_audit_owner"` // whose object it is (keys: the key owner)
	// OnBehalfOf is the user an admin acted for (their id); empty when the actor acted
	// on their own object or on an admin object.
	OnBehalfOf string `gorm:"not null;default:''"`
	IP         string `gorm:"not null"`
	RequestID  string `gorm:"not null"`
	Details    string `gorm:"not null"` // JSON object, no secrets
}

// TableName fixes the table name.
func (AuditEvent) TableName() string { return "audit_events" }

// AuditFilter selects events; zero fields do not filter. Results are newest first.
type AuditFilter struct {
	OwnerID    string
	TargetType string
	TargetID   string
	Since      time.Time
	Until      time.Time
	// After is the (At, ID) position of the last event of the previous page: the
	// next page holds the events strictly older.
	After *ListPosition
	Limit int
}

// RecordAudit appends one event; ID and At are set when empty.
func (s *Store) RecordAudit(ctx context.Context, ev *AuditEvent) error {
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = dbTime(ev.At)
	if ev.Details == "" {
		ev.Details = "{}"
	}
	for _, v := range []string{ev.ActorID, ev.ActorName, ev.Action, ev.TargetType, ev.TargetID, ev.OwnerID, ev.OnBehalfOf, ev.IP, ev.RequestID, ev.Details} {
		if !storable(v) {
			return errors.New("models: record audit: text is not valid UTF-8")
		}
	}
	msg, queue := OutboxMessage{}, false
	if s.outbox != nil {
		msg, queue = s.outbox(*ev)
	}
	if !queue {
		if err := s.db.WithContext(ctx).Create(ev).Error; err != nil {
			return fmt.Errorf("models: record audit: %w", err)
		}
		return nil
	}
	// The transactional outbox: the event and its webhook deliveries are stored
	// together or not at all, so that what is audited and what is announced agree.
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(ev).Error; err != nil {
			return err
		}
		return enqueueWebhooks(tx, ev, msg)
	})
	if err != nil {
		return fmt.Errorf("models: record audit: %w", err)
	}
	return nil
}

// ListAudit returns events matching f, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	q := s.db.WithContext(ctx).Model(&AuditEvent{})
	for col, v := range map[string]string{"owner_id": f.OwnerID, "target_type": f.TargetType, "target_id": f.TargetID} {
		if v != "" {
			if !storable(v) {
				return []AuditEvent{}, nil
			}
			q = q.Where(col+" = ?", v)
		}
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", dbTime(f.Until))
	}
	if f.After != nil {
		at := dbTime(f.After.At)
		q = q.Where("(at < ? OR (at = ? AND id < ?))", at, at, f.After.ID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	out := []AuditEvent{}
	if err := q.Order("at DESC").Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list audit: %w", err)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}
