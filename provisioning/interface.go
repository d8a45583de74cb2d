package provisioning

import (
	"context"

	"github.com/keyward/keyward/audit"
)

// API is the admin domain (ACL groups, consumers and their clients) as its callers (the
// JSON API, the console) use it; Service implements it.
type API interface {
	ListACLGroups(ctx context.Context) ([]ACLGroup, error)
	CreateACLGroup(ctx context.Context, a audit.Actor, in ACLGroupInput) (ACLGroup, error)
	DeleteACLGroup(ctx context.Context, a audit.Actor, name string) error

	CreateConsumer(ctx context.Context, a audit.Actor, in ConsumerInput) (Consumer, error)
	ListConsumers(ctx context.Context, q ConsumerQuery) (ConsumerPage, error)
	Consumer(ctx context.Context, id string) (Consumer, error)
	UpdateConsumer(ctx context.Context, a audit.Actor, id string, p ConsumerPatch) (Consumer, error)
	DeleteConsumer(ctx context.Context, a audit.Actor, id string, cascade bool) error

	CreateClient(ctx context.Context, a audit.Actor, consumerID string, in ClientInput) (CreatedClient, error)
	ListClients(ctx context.Context, q ClientQuery) (ClientPage, error)
	Client(ctx context.Context, id string) (Client, error)
	UpdateClient(ctx context.Context, a audit.Actor, id string, p ClientPatch) (Client, error)
	DeleteClient(ctx context.Context, a audit.Actor, id string) error
	ClientSecret(ctx context.Context, a audit.Actor, id string) (Secret, error)
	RegenerateClientSecret(ctx context.Context, a audit.Actor, id string) (Secret, error)
	TestClient(ctx context.Context, a audit.Actor, id, secret string) (TokenTest, error)
}

var _ API = (*Service)(nil)
