package keys

import (
	"context"

	"github.com/keyward/keyward/audit"
)

// API is the key lifecycle as its callers (the JSON API, the console) use it; Service
// implements it, and their unit tests fake it here rather than re-declaring it.
type API interface {
	Create(ctx context.Context, a audit.Actor, p CreateParams) (Created, error)
	Get(ctx context.Context, a audit.Actor, id string) (Key, error)
	List(ctx context.Context, a audit.Actor, p ListParams) (Page, error)
	Update(ctx context.Context, a audit.Actor, id string, p UpdateParams) (Key, error)
	Rotate(ctx context.Context, a audit.Actor, id string, graceHours *int) (Created, error)
	Delete(ctx context.Context, a audit.Actor, id string) error
	Usage(ctx context.Context, a audit.Actor, id string, days int) (UsageReport, error)
	// LimitableRoles: the roles the caller may limit a key of their own to (roles.go).
	LimitableRoles(ctx context.Context, a audit.Actor) ([]string, error)
}

var _ API = (*Service)(nil)
