package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/models"
)

// EndpointStore is what the admin service needs of the store.
type EndpointStore interface {
	CreateWebhookEndpoint(ctx context.Context, e *models.WebhookEndpoint) error
	WebhookEndpoint(ctx context.Context, id string) (models.WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context, after *models.ListPosition, limit int) ([]models.WebhookEndpoint, error)
	UpdateWebhookEndpoint(ctx context.Context, id string, change func(e *models.WebhookEndpoint) error) (models.WebhookEndpoint, error)
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	ListWebhookDeliveries(ctx context.Context, endpointID string, after *models.ListPosition, limit int) ([]models.WebhookDelivery, error)
	WebhookAttempts(ctx context.Context, deliveryIDs []string) (map[string][]models.WebhookAttempt, error)
	RedeliverWebhook(ctx context.Context, endpointID, id string, now time.Time) (models.WebhookDelivery, error)
}

// ServiceConfig is what a Service is built from.
type ServiceConfig struct {
	Store EndpointStore
	Box   *SecretBox
	Guard *Guard
	Audit *audit.Recorder
	Clock func() time.Time
}

// Service is the admin side of webhooks: endpoints, their secrets and delivery logs.
type Service struct{ cfg ServiceConfig }

// NewService returns the service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{cfg: cfg}
}

// EndpointInput registers an endpoint.
type EndpointInput struct {
	URL         string
	Description string
	EventTypes  []string
	Enabled     *bool // default true
}

// EndpointPatch changes the fields that are not nil.
type EndpointPatch struct {
	URL         *string
	Description *string
	EventTypes  *[]string
	Enabled     *bool
}

// WithSecret is an endpoint and its signing secret, shown once.
type WithSecret struct {
	Endpoint Endpoint
	Secret   string
}

// ErrConflict: the request contradicts the endpoint's state.
var ErrConflict = errs.New(errs.Conflict, "the webhook endpoint is not in a state that allows this")

func (s *Service) checkURL(v *errs.Validation, raw string) {
	if raw == "" {
		v.Add("url", "is required")
	} else if msg := s.cfg.Guard.CheckURL(raw); msg != "" {
		v.Add("url", msg)
	}
}

func checkDescription(v *errs.Validation, d string) {
	if msg := safetext.Problem(d, true); msg != "" {
		v.Add("description", msg)
	} else if utf8.RuneCountInString(d) > api.WebhookDescriptionMax {
		v.Add("description", fmt.Sprintf("must be at most %d characters", api.WebhookDescriptionMax))
	}
}

func checkEventTypes(v *errs.Validation, types []string) {
	known := Subscriptions()
	switch {
	case len(types) == 0:
		v.Add("event_types", "give at least one event type, a family such as key.* or *")
		return
	case len(types) > api.WebhookEventTypesMax:
		v.Add("event_types", fmt.Sprintf("must hold at most %d entries", api.WebhookEventTypesMax))
		return
	}
	for i, t := range types {
		switch {
		case !slices.Contains(known, t):
			v.Add(fmt.Sprintf("event_types[%d]", i), "is not an event type; known: "+strings.Join(known, ", "))
		case slices.Index(types, t) != i:
			v.Add(fmt.Sprintf("event_types[%d]", i), "is listed twice")
		}
	}
}

// Create registers an endpoint and makes its signing secret.
func (s *Service) Create(ctx context.Context, a audit.Actor, in EndpointInput) (WithSecret, error) {
	v := &errs.Validation{}
	s.checkURL(v, in.URL)
	checkDescription(v, in.Description)
	checkEventTypes(v, in.EventTypes)
	if err := v.Err(); err != nil {
		return WithSecret{}, err
	}
	raw, text, err := newSecret()
	if err != nil {
		return WithSecret{}, fmt.Errorf("webhooks: make secret: %w", err)
	}
	ep := models.WebhookEndpoint{
		ID: uuid.NewString(), URL: in.URL, Description: in.Description, EventTypes: slices.Clone(in.EventTypes),
		Enabled: in.Enabled == nil || *in.Enabled, CreatedBy: a.ID, CreatedAt: s.cfg.Clock(),
	}
	if ep.SecretSealed, err = s.cfg.Box.Seal(ep.ID, raw); err != nil {
		return WithSecret{}, fmt.Errorf("webhooks: seal secret: %w", err)
	}
	if err := s.cfg.Store.CreateWebhookEndpoint(ctx, &ep); err != nil {
		return WithSecret{}, err
	}
	s.cfg.Audit.Record(ctx, a, "webhook.create", "webhook", ep.ID, "", map[string]any{
		"host": hostOf(ep.URL), "event_types": ep.EventTypes, "enabled": ep.Enabled,
	})
	return WithSecret{Endpoint: endpointOf(ep), Secret: text}, nil
}

// hostOf is what the audit trail says of a URL: its host, not its path or query,
// which may carry a receiver's token.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// Endpoint reads one endpoint.
func (s *Service) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	ep, err := s.cfg.Store.WebhookEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	return endpointOf(ep), nil
}

// EndpointPage is one page of endpoints; NextCursor is "" on the last.
type EndpointPage struct {
	Items      []Endpoint
	NextCursor string
}

func after(v *errs.Validation, scope page.Scope, cursor string, limit int) (*models.ListPosition, int) {
	size, ok := page.Limit(limit)
	if !ok {
		v.Add("limit", page.LimitRule)
	}
	p, ok := scope.Position(cursor)
	if !ok {
		v.Add("cursor", page.CursorRule)
	}
	if p == nil {
		return nil, size
	}
	return &models.ListPosition{At: p.At, ID: p.ID}, size
}

// List pages the endpoints, newest first.
func (s *Service) List(ctx context.Context, cursor string, limit int) (EndpointPage, error) {
	v := &errs.Validation{}
	scope := page.For("webhooks", "-created_at")
	pos, size := after(v, scope, cursor, limit)
	if err := v.Err(); err != nil {
		return EndpointPage{}, err
	}
	list, err := s.cfg.Store.ListWebhookEndpoints(ctx, pos, size+1)
	if err != nil {
		return EndpointPage{}, err
	}
	out := EndpointPage{}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		out.NextCursor = scope.Cursor(page.Position{At: last.CreatedAt, ID: last.ID})
	}
	out.Items = make([]Endpoint, 0, len(list))
	for _, e := range list {
		out.Items = append(out.Items, endpointOf(e))
	}
	return out, nil
}

// Update applies p. Enabling an endpoint clears its run of failures.
func (s *Service) Update(ctx context.Context, a audit.Actor, id string, p EndpointPatch) (Endpoint, error) {
	v := &errs.Validation{}
	if p.URL == nil && p.Description == nil && p.EventTypes == nil && p.Enabled == nil {
		v.Add("body", "give at least one of url, description, event_types, enabled")
	}
	if p.URL != nil {
		s.checkURL(v, *p.URL)
	}
	if p.Description != nil {
		checkDescription(v, *p.Description)
	}
	if p.EventTypes != nil {
		checkEventTypes(v, *p.EventTypes)
	}
	if err := v.Err(); err != nil {
		return Endpoint{}, err
	}
	var changed []string
	ep, err := s.cfg.Store.UpdateWebhookEndpoint(ctx, id, func(e *models.WebhookEndpoint) error {
		changed = nil
		if p.URL != nil && *p.URL != e.URL {
			e.URL, changed = *p.URL, append(changed, "url")
		}
		if p.Description != nil && *p.Description != e.Description {
			e.Description, changed = *p.Description, append(changed, "description")
		}
		if p.EventTypes != nil && !slices.Equal(*p.EventTypes, e.EventTypes) {
			e.EventTypes, changed = slices.Clone(*p.EventTypes), append(changed, "event_types")
		}
		if p.Enabled != nil && *p.Enabled != e.Enabled {
			e.Enabled, changed = *p.Enabled, append(changed, "enabled")
			e.DisabledReason = ""
			if e.Enabled {
				e.ConsecutiveFailures, e.FailingSince = 0, nil
			}
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	if len(changed) > 0 {
		s.cfg.Audit.Record(ctx, a, "webhook.update", "webhook", ep.ID, "", map[string]any{
			"changed": changed, "host": hostOf(ep.URL), "enabled": ep.Enabled,
		})
	}
	return endpointOf(ep), nil
}

// Delete removes an endpoint with its deliveries.
func (s *Service) Delete(ctx context.Context, a audit.Actor, id string) error {
	ep, err := s.cfg.Store.WebhookEndpoint(ctx, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteWebhookEndpoint(ctx, ep.ID); err != nil {
		return err
	}
	s.cfg.Audit.Record(ctx, a, "webhook.delete", "webhook", ep.ID, "", map[string]any{"host": hostOf(ep.URL)})
	return nil
}

// RotateSecret gives the endpoint a new signing secret, shown once. The old one
// signs beside it for previousValidHours (0: it stops at once, as after a leak), so
// that receivers can switch without refusing a message.
func (s *Service) RotateSecret(ctx context.Context, a audit.Actor, id string, previousValidHours int) (WithSecret, error) {
	if previousValidHours < 0 || previousValidHours > api.WebhookPreviousValidHoursMax {
		return WithSecret{}, errs.Field("previous_valid_hours", fmt.Sprintf("must be between 0 and %d", api.WebhookPreviousValidHoursMax))
	}
	raw, text, err := newSecret()
	if err != nil {
		return WithSecret{}, fmt.Errorf("webhooks: make secret: %w", err)
	}
	now := s.cfg.Clock()
	ep, err := s.cfg.Store.UpdateWebhookEndpoint(ctx, id, func(e *models.WebhookEndpoint) error {
		e.PreviousSecretSealed, e.PreviousSecretUntil = nil, nil
		if previousValidHours > 0 {
			until := now.Add(time.Duration(previousValidHours) * time.Hour)
			e.PreviousSecretSealed, e.PreviousSecretUntil = e.SecretSealed, &until
		}
		sealed, err := s.cfg.Box.Seal(e.ID, raw)
		e.SecretSealed = sealed
		return err
	})
	if err != nil {
		return WithSecret{}, err
	}
	s.cfg.Audit.Record(ctx, a, "webhook.secret.rotate", "webhook", ep.ID, "", map[string]any{
		"host": hostOf(ep.URL), "previous_valid_hours": previousValidHours,
	})
	return WithSecret{Endpoint: endpointOf(ep), Secret: text}, nil
}

// DeliveryPage is one page of deliveries; NextCursor is "" on the last.
type DeliveryPage struct {
	Items      []Delivery
	NextCursor string
}

// Deliveries pages an endpoint's deliveries, newest first, with their attempts.
func (s *Service) Deliveries(ctx context.Context, endpointID, cursor string, limit int) (DeliveryPage, error) {
	ep, err := s.cfg.Store.WebhookEndpoint(ctx, endpointID)
	if err != nil {
		return DeliveryPage{}, err
	}
	v := &errs.Validation{}
	scope := page.For("webhook-deliveries", "-created_at", ep.ID)
	pos, size := after(v, scope, cursor, limit)
	if err := v.Err(); err != nil {
		return DeliveryPage{}, err
	}
	list, err := s.cfg.Store.ListWebhookDeliveries(ctx, ep.ID, pos, size+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	out := DeliveryPage{}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		out.NextCursor = scope.Cursor(page.Position{At: last.CreatedAt, ID: last.ID})
	}
	ids := make([]string, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	attempts, err := s.cfg.Store.WebhookAttempts(ctx, ids)
	if err != nil {
		return DeliveryPage{}, err
	}
	out.Items = make([]Delivery, len(list))
	for i, d := range list {
		out.Items[i] = deliveryOf(d, attempts[d.ID])
	}
	return out, nil
}

// Redeliver queues a delivery again now, with a new day of retries, under the same
// webhook-id. The endpoint must be enabled; an attempt under way gives a conflict.
func (s *Service) Redeliver(ctx context.Context, a audit.Actor, endpointID, deliveryID string) (Delivery, error) {
	ep, err := s.cfg.Store.WebhookEndpoint(ctx, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	if !ep.Enabled {
		return Delivery{}, errs.Because(ErrConflict, "the endpoint is disabled: enable it first")
	}
	d, err := s.cfg.Store.RedeliverWebhook(ctx, ep.ID, deliveryID, s.cfg.Clock())
	if errors.Is(err, models.ErrConflict) {
		return Delivery{}, errs.Because(ErrConflict, "an attempt of this delivery is under way; try again when it is recorded")
	}
	if err != nil {
		return Delivery{}, err
	}
	attempts, err := s.cfg.Store.WebhookAttempts(ctx, []string{d.ID})
	if err != nil {
		return Delivery{}, err
	}
	s.cfg.Audit.Record(ctx, a, "webhook.redeliver", "webhook", ep.ID, "", map[string]any{
		"delivery_id": d.ID, "webhook_id": d.MessageID,
	})
	return deliveryOf(d, attempts[d.ID]), nil
}
