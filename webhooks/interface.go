package webhooks

import (
	"context"

	"github.com/keyward/keyward/audit"
)

// API is the admin side of webhooks (endpoints, their secrets and deliveries) as its
// callers (the JSON API, the console) use it; Service implements it.
type API interface {
	Create(ctx context.Context, a audit.Actor, in EndpointInput) (WithSecret, error)
	List(ctx context.Context, cursor string, limit int) (EndpointPage, error)
	Endpoint(ctx context.Context, id string) (Endpoint, error)
	Update(ctx context.Context, a audit.Actor, id string, p EndpointPatch) (Endpoint, error)
	Delete(ctx context.Context, a audit.Actor, id string) error
	RotateSecret(ctx context.Context, a audit.Actor, id string, previousValidHours int) (WithSecret, error)
	Deliveries(ctx context.Context, endpointID, cursor string, limit int) (DeliveryPage, error)
	Redeliver(ctx context.Context, a audit.Actor, endpointID, deliveryID string) (Delivery, error)
}

var _ API = (*Service)(nil)
