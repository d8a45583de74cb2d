package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/keyward/keyward/api"
)

// States of a webhook delivery (the wire's, package api).
const (
	DeliveryPending   = api.DeliveryPending
	DeliverySucceeded = api.DeliverySucceeded
	DeliveryFailed    = api.DeliveryFailed
)

// DisabledFailing is the DisabledReason of an endpoint the dispatcher turned off after
// repeated failure; an admin turning one off leaves the reason empty.
const DisabledFailing = api.WebhookDisabledFailing

// WebhookEndpoint is a receiver an admin registered. Its signing secret is stored
// sealed (SecretSealed, by the webhooks package), never in clear.
type WebhookEndpoint struct {
	ID          string     `gorm:"primaryKey;size:36"`
	URL         string     `gorm:"not null"`
	Description string     `gorm:"not null"`
	EventTypes  StringList `gorm:"not null"`
	// No default tag: gorm would then skip an explicit false on insert.
	Enabled        bool   `gorm:"not null"`
	DisabledReason string `gorm:"not null;default:''"`
	SecretSealed   []byte `gorm:"not null"`
	// PreviousSecretSealed still signs, beside the current one, until
	// PreviousSecretUntil: a rotation that receivers can follow without a gap.
	PreviousSecretSealed []byte     `gorm:""`
	PreviousSecretUntil  *time.Time `gorm:""`
	// ConsecutiveFailures and FailingSince describe the current run of failed
	// attempts; a success clears both.
	ConsecutiveFailures int        `gorm:"not null;default:0"`
	FailingSince        *time.Time `gorm:""`
	CreatedBy           string     `gorm:"not null"`
	CreatedAt           time.Time  `gorm:"not null;index:idx_webhook_endpoints_created"`
	UpdatedAt           time.Time  `gorm:"not null"`
}

// TableName fixes the table name.
func (WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// WebhookDelivery is one message queued for one endpoint: the transactional outbox.
// Payload is the body exactly as it is signed and sent; MessageID is the webhook-id,
// the same on every attempt so that receivers can drop duplicates.
type WebhookDelivery struct {
	ID         string `gorm:"primaryKey;size:36"`
	EndpointID string `gorm:"not null;size:36;uniqueIndex:idx_webhook_deliveries_event,priority:1;index:idx_webhook_deliveries_endpoint,priority:1"`
	EventID    string `gorm:"not null;size:36;uniqueIndex:idx_webhook_deliveries_event,priority:2"`
	MessageID  string `gorm:"not null"`
	EventType  string `gorm:"not null"`
	Payload    string `gorm:"not null"`
	State      string `gorm:"not null;index:idx_webhook_deliveries_due,priority:1"`
	Attempts   int    `gorm:"not null;default:0"`
	// NextAttemptAt is when the delivery is due; RetryFrom starts the window in which
	// it is retried (the enqueue, or the last manual redelivery).
	NextAttemptAt time.Time `gorm:"not null;index:idx_webhook_deliveries_due,priority:2"`
	RetryFrom     time.Time `gorm:"not null"`
	// LeaseOwner holds the delivery until LeaseUntil: the one dispatcher that attempts
	// it. Claimed by compare-and-set, so it works alike on both backends.
	LeaseOwner string     `gorm:"not null;default:''"`
	LeaseUntil *time.Time `gorm:""`
	// Manual: the next attempt follows an admin's redelivery.
	Manual      bool       `gorm:"not null;default:false"`
	LastStatus  int        `gorm:"not null;default:0"`
	LastError   string     `gorm:"not null;default:''"`
	DeliveredAt *time.Time `gorm:""`
	CreatedAt   time.Time  `gorm:"not null;index:idx_webhook_deliveries_endpoint,priority:2"`
	UpdatedAt   time.Time  `gorm:"not null"`
}

// TableName fixes the table name.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookAttempt is one try of a delivery: what the receiver answered, or why there
// was no answer. It holds no body: neither ours nor the receiver's.
type WebhookAttempt struct {
	ID         string    `gorm:"primaryKey;size:36"`
	DeliveryID string    `gorm:"not null;size:36;index:idx_webhook_attempts_delivery"`
	At         time.Time `gorm:"not null"`
	StatusCode int       `gorm:"not null"` // 0: no HTTP answer
	Error      string    `gorm:"not null"`
	DurationMS int64     `gorm:"not null"`
	Manual     bool      `gorm:"not null"` // the attempt followed an admin's redelivery
}

// TableName fixes the table name.
func (WebhookAttempt) TableName() string { return "webhook_attempts" }

// OutboxMessage is the webhook message an audit event becomes.
type OutboxMessage struct {
	EventType string
	Payload   []byte
}

// Outbox turns an audit event into the webhook message queued with it (false: the
// event is not a webhook event). RecordAudit queues the message for every enabled
// endpoint subscribed to its type, in the audit row's transaction.
type Outbox func(ev AuditEvent) (OutboxMessage, bool)

// UseOutbox installs the outbox; call it while wiring, before the store is used.
func (s *Store) UseOutbox(o Outbox) { s.outbox = o }

// subscribes tells whether an endpoint subscribed to types receives eventType: an
// exact type, its family ("key.*") or everything ("*").
func subscribes(types []string, eventType string) bool {
	family, _, _ := strings.Cut(eventType, ".")
	for _, t := range types {
		if t == eventType || t == "*" || t == family+".*" {
			return true
		}
	}
	return false
}

// enqueueWebhooks queues msg of ev for every subscribed, enabled endpoint, in tx.
func enqueueWebhooks(tx *gorm.DB, ev *AuditEvent, msg OutboxMessage) error {
	var eps []WebhookEndpoint
	if err := tx.Select("id", "event_types").Where("enabled = ?", true).Find(&eps).Error; err != nil {
		return err
	}
	for _, ep := range eps {
		if !subscribes(ep.EventTypes, msg.EventType) {
			continue
		}
		d := WebhookDelivery{
			ID: uuid.NewString(), EndpointID: ep.ID, EventID: ev.ID, MessageID: "msg_" + ev.ID,
			EventType: msg.EventType, Payload: string(msg.Payload), State: DeliveryPending,
			NextAttemptAt: ev.At, RetryFrom: ev.At, CreatedAt: ev.At, UpdatedAt: ev.At,
		}
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
	}
	return nil
}

func checkEndpoint(e *WebhookEndpoint) error {
	for _, v := range append([]string{e.URL, e.Description, e.CreatedBy}, e.EventTypes...) {
		if !storable(v) {
			return errors.New("text is not valid UTF-8")
		}
	}
	if len(e.SecretSealed) == 0 {
		return errors.New("the sealed secret is empty")
	}
	return nil
}

// CreateWebhookEndpoint inserts e, setting its id (when empty) and times.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.EventTypes == nil {
		e.EventTypes = StringList{}
	}
	if err := checkEndpoint(e); err != nil {
		return fmt.Errorf("models: create webhook endpoint: %w", err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = dbTime(e.CreatedAt)
	e.UpdatedAt = e.CreatedAt
	if err := s.db.WithContext(ctx).Create(e).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("models: create webhook endpoint: %w", ErrAlreadyExists)
		}
		return fmt.Errorf("models: create webhook endpoint: %w", err)
	}
	return nil
}

// WebhookEndpoint reads one endpoint, or ErrNotFound.
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (WebhookEndpoint, error) {
	id, ok := canonicalID(id)
	if !ok {
		return WebhookEndpoint{}, fmt.Errorf("models: webhook endpoint: %w", ErrNotFound)
	}
	var e WebhookEndpoint
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return WebhookEndpoint{}, fmt.Errorf("models: webhook endpoint: %w", ErrNotFound)
	}
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("models: webhook endpoint: %w", err)
	}
	return utcEndpoint(e), nil
}

func utcEndpoint(e WebhookEndpoint) WebhookEndpoint {
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	for _, p := range []**time.Time{&e.FailingSince, &e.PreviousSecretUntil} {
		if *p != nil {
			t := (**p).UTC()
			*p = &t
		}
	}
	return e
}

// ListWebhookEndpoints returns endpoints newest first, after the position of the
// last one of the previous page, at most limit.
func (s *Store) ListWebhookEndpoints(ctx context.Context, after *ListPosition, limit int) ([]WebhookEndpoint, error) {
	q := orderKeyset(s.db.WithContext(ctx).Model(&WebhookEndpoint{}), "created_at", "id", true, true, after)
	out := []WebhookEndpoint{}
	if err := q.Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list webhook endpoints: %w", err)
	}
	for i := range out {
		out[i] = utcEndpoint(out[i])
	}
	return out, nil
}

// UpdateWebhookEndpoint runs change on the stored endpoint and saves what it made of
// it, in one transaction; an error of change is returned and nothing is saved.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, id string, change func(e *WebhookEndpoint) error) (WebhookEndpoint, error) {
	id, ok := canonicalID(id)
	if !ok {
		return WebhookEndpoint{}, fmt.Errorf("models: update webhook endpoint: %w", ErrNotFound)
	}
	var out WebhookEndpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e WebhookEndpoint
		if err := s.lockForUpdate(tx).Where("id = ?", id).Take(&e).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if err := change(&e); err != nil {
			return err
		}
		e.ID = id
		if err := checkEndpoint(&e); err != nil {
			return err
		}
		e.UpdatedAt = dbTime(time.Now())
		e.FailingSince = dbTimePtr(e.FailingSince)
		e.PreviousSecretUntil = dbTimePtr(e.PreviousSecretUntil)
		if err := tx.Select("*").Omit("created_at", "created_by").Save(&e).Error; err != nil {
			return err
		}
		out = e
		return nil
	})
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("models: update webhook endpoint: %w", err)
	}
	return utcEndpoint(out), nil
}

// lockForUpdate locks the rows a transaction reads on PostgreSQL; SQLite's immediate
// transactions hold the write lock already.
func (s *Store) lockForUpdate(tx *gorm.DB) *gorm.DB {
	if s.backend == backendPostgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries and their attempts.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	id, ok := canonicalID(id)
	if !ok {
		return fmt.Errorf("models: delete webhook endpoint: %w", ErrNotFound)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&WebhookEndpoint{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		deliveries := tx.Model(&WebhookDelivery{}).Select("id").Where("endpoint_id = ?", id)
		if err := tx.Where("delivery_id IN (?)", deliveries).Delete(&WebhookAttempt{}).Error; err != nil {
			return err
		}
		return tx.Where("endpoint_id = ?", id).Delete(&WebhookDelivery{}).Error
	})
	if err != nil {
		return fmt.Errorf("models: delete webhook endpoint: %w", err)
	}
	return nil
}

// ListWebhookDeliveries returns an endpoint's deliveries newest first, after the
// position of the last one of the previous page, at most limit.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, after *ListPosition, limit int) ([]WebhookDelivery, error) {
	out := []WebhookDelivery{}
	id, ok := canonicalID(endpointID)
	if !ok {
		return out, nil
	}
	q := orderKeyset(s.db.WithContext(ctx).Model(&WebhookDelivery{}).Where("endpoint_id = ?", id),
		"created_at", "id", true, true, after)
	if err := q.Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list webhook deliveries: %w", err)
	}
	for i := range out {
		out[i] = utcDelivery(out[i])
	}
	return out, nil
}

// WebhookDelivery reads one delivery of an endpoint, or ErrNotFound.
func (s *Store) WebhookDelivery(ctx context.Context, endpointID, id string) (WebhookDelivery, error) {
	eid, ok1 := canonicalID(endpointID)
	did, ok2 := canonicalID(id)
	if !ok1 || !ok2 {
		return WebhookDelivery{}, fmt.Errorf("models: webhook delivery: %w", ErrNotFound)
	}
	var d WebhookDelivery
	err := s.db.WithContext(ctx).Where("id = ? AND endpoint_id = ?", did, eid).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return WebhookDelivery{}, fmt.Errorf("models: webhook delivery: %w", ErrNotFound)
	}
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("models: webhook delivery: %w", err)
	}
	return utcDelivery(d), nil
}

func utcDelivery(d WebhookDelivery) WebhookDelivery {
	d.NextAttemptAt, d.RetryFrom = d.NextAttemptAt.UTC(), d.RetryFrom.UTC()
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	for _, p := range []**time.Time{&d.LeaseUntil, &d.DeliveredAt} {
		if *p != nil {
			t := (**p).UTC()
			*p = &t
		}
	}
	return d
}

// WebhookAttempts returns the attempts of the given deliveries, oldest first, by
// delivery id.
func (s *Store) WebhookAttempts(ctx context.Context, deliveryIDs []string) (map[string][]WebhookAttempt, error) {
	out := map[string][]WebhookAttempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	var rows []WebhookAttempt
	if err := s.db.WithContext(ctx).Where("delivery_id IN ?", deliveryIDs).Order("at").Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: webhook attempts: %w", err)
	}
	for _, a := range rows {
		a.At = a.At.UTC()
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, nil
}

// RedeliverWebhook makes a delivery due at now, whatever its state, with a new retry
// window from now. A delivery whose attempt is under way (leased) gives ErrConflict.
func (s *Store) RedeliverWebhook(ctx context.Context, endpointID, id string, now time.Time) (WebhookDelivery, error) {
	d, err := s.WebhookDelivery(ctx, endpointID, id)
	if err != nil {
		return WebhookDelivery{}, err
	}
	now = dbTime(now)
	res := s.db.WithContext(ctx).Model(&WebhookDelivery{}).
		Where("id = ? AND (lease_until IS NULL OR lease_until < ?)", d.ID, now).
		Updates(map[string]any{"state": DeliveryPending, "next_attempt_at": now, "retry_from": now,
			"manual": true, "updated_at": now})
	if res.Error != nil {
		return WebhookDelivery{}, fmt.Errorf("models: redeliver webhook: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return WebhookDelivery{}, fmt.Errorf("models: redeliver webhook: an attempt is under way: %w", ErrConflict)
	}
	return s.WebhookDelivery(ctx, endpointID, id)
}

// ClaimWebhookDeliveries leases up to limit due deliveries of enabled endpoints to
// owner until now+lease. Each is taken by compare-and-set on its lease, so two
// dispatchers never hold one delivery at once.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error) {
	now = dbTime(now)
	var due []WebhookDelivery
	err := s.db.WithContext(ctx).Model(&WebhookDelivery{}).
		Joins("JOIN webhook_endpoints ON webhook_endpoints.id = webhook_deliveries.endpoint_id").
		Where("webhook_deliveries.state = ? AND webhook_deliveries.next_attempt_at <= ?", DeliveryPending, now).
		Where("webhook_deliveries.lease_until IS NULL OR webhook_deliveries.lease_until < ?", now).
		Where("webhook_endpoints.enabled = ?", true).
		Order("webhook_deliveries.next_attempt_at").Order("webhook_deliveries.id").
		Limit(limit * 2). // some may be taken by another dispatcher meanwhile
		Select("webhook_deliveries.*").Find(&due).Error
	if err != nil {
		return nil, fmt.Errorf("models: claim webhook deliveries: %w", err)
	}
	until := dbTime(now.Add(lease))
	out := []WebhookDelivery{}
	for _, d := range due {
		if len(out) == limit {
			break
		}
		// A token per claim: a dispatcher whose lease ran out cannot record over the
		// claim that followed, even its own.
		token := owner + ":" + uuid.NewString()
		res := s.db.WithContext(ctx).Model(&WebhookDelivery{}).
			Where("id = ? AND state = ? AND (lease_until IS NULL OR lease_until < ?)", d.ID, DeliveryPending, now).
			Updates(map[string]any{"lease_until": until, "lease_owner": token})
		if res.Error != nil {
			return out, fmt.Errorf("models: claim webhook deliveries: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			d.LeaseUntil, d.LeaseOwner = &until, token
			out = append(out, utcDelivery(d))
		}
	}
	return out, nil
}

// AttemptOutcome is what one attempt of a delivery came to, and what follows.
type AttemptOutcome struct {
	Delivery WebhookDelivery // as claimed
	Attempt  WebhookAttempt
	// Succeeded: the message is delivered. Otherwise NextAttemptAt is the retry, or
	// nil when retries give up.
	Succeeded     bool
	NextAttemptAt *time.Time
	// Health decides, from the endpoint's stored health, its health after this attempt
	// (the webhooks service's policy: the run of failures, disabling); nil leaves it.
	Health func(h *EndpointHealth)
}

// EndpointHealth is the part of an endpoint that its deliveries' outcomes change.
type EndpointHealth struct {
	Enabled             bool
	DisabledReason      string
	ConsecutiveFailures int
	FailingSince        *time.Time
}

// ErrLeaseLost: the delivery's lease passed to another dispatcher before the attempt
// was recorded.
var ErrLeaseLost = fmt.Errorf("the delivery's lease was lost: %w", ErrConflict)

// RecordWebhookAttempt stores an attempt, the delivery's new state and the endpoint's
// health as o.Health decides it, in one transaction, if the claim still holds (else
// ErrLeaseLost).
func (s *Store) RecordWebhookAttempt(ctx context.Context, o AttemptOutcome) error {
	d, a := o.Delivery, o.Attempt
	at := dbTime(a.At)
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	a.At, a.DeliveryID, a.Manual = at, d.ID, d.Manual
	if !storable(a.Error) {
		a.Error = strings.ToValidUTF8(strings.ReplaceAll(a.Error, "\x00", ""), "?")
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		set := map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_status": a.StatusCode,
			"last_error": a.Error, "lease_until": nil, "lease_owner": "", "manual": false, "updated_at": at}
		switch {
		case o.Succeeded:
			set["state"], set["delivered_at"] = DeliverySucceeded, at
		case o.NextAttemptAt != nil:
			set["next_attempt_at"] = dbTime(*o.NextAttemptAt)
		default:
			set["state"] = DeliveryFailed
		}
		res := tx.Model(&WebhookDelivery{}).Where("id = ? AND lease_owner = ? AND state = ?", d.ID, d.LeaseOwner, DeliveryPending).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrLeaseLost
		}
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		if o.Health == nil {
			return nil
		}
		var ep WebhookEndpoint
		if err := s.lockForUpdate(tx).Where("id = ?", d.EndpointID).Take(&ep).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil // deleted meanwhile
			}
			return err
		}
		was := EndpointHealth{Enabled: ep.Enabled, DisabledReason: ep.DisabledReason,
			ConsecutiveFailures: ep.ConsecutiveFailures, FailingSince: utcPtr(ep.FailingSince)}
		h := was
		o.Health(&h)
		upd := map[string]any{"consecutive_failures": h.ConsecutiveFailures, "failing_since": dbTimePtr(h.FailingSince)}
		if h.Enabled != was.Enabled || h.DisabledReason != was.DisabledReason {
			upd["enabled"], upd["disabled_reason"], upd["updated_at"] = h.Enabled, h.DisabledReason, at
		}
		return tx.Model(&WebhookEndpoint{}).Where("id = ?", ep.ID).Updates(upd).Error
	})
	if err != nil {
		return fmt.Errorf("models: record webhook attempt: %w", err)
	}
	return nil
}

// PruneWebhookDeliveries deletes the finished deliveries (succeeded or failed) last
// changed before `before`, with their attempts, and says how many went.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old := tx.Model(&WebhookDelivery{}).Select("id").
			Where("state IN ? AND updated_at < ?", []string{DeliverySucceeded, DeliveryFailed}, dbTime(before))
		if err := tx.Where("delivery_id IN (?)", old).Delete(&WebhookAttempt{}).Error; err != nil {
			return err
		}
		res := tx.Where("state IN ? AND updated_at < ?", []string{DeliverySucceeded, DeliveryFailed}, dbTime(before)).
			Delete(&WebhookDelivery{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("models: prune webhook deliveries: %w", err)
	}
	return n, nil
}
