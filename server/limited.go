package server

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/keycloak"
)

// limitedKeys is the Keycloak side of keys limited to roles (keys.RoleLimits): the
// limited client is ensured at start and, should that have failed, before the first
// role scope; its shape mirrors the unrestricted exchange client's.
type limitedKeys struct {
	kc   *keycloak.Client
	spec keycloak.LimitedClient

	mu   sync.Mutex
	uuid string // Keycloak's id of the limited client, once ensured
}

func newLimitedKeys(cfg config.Config, kc *keycloak.Client) *limitedKeys {
	return &limitedKeys{kc: kc, spec: keycloak.LimitedClient{
		ClientID: cfg.LimitedClientID, IdentityProvider: cfg.IdPAlias,
		JWKSURL: cfg.PublicURL + "/.well-known/jwks.json", // handlers' jwks route
	}}
}

// client ensures the limited client once.
func (l *limitedKeys) client(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.uuid != "" {
		return l.uuid, nil
	}
	spec := l.spec
	var err error
	if spec.Audiences, spec.OptionalScopes, err = l.kc.ExchangeClientShape(ctx); err != nil {
		return "", err
	}
	id, err := l.kc.EnsureLimitedClient(ctx, spec)
	if err != nil {
		return "", err
	}
	l.uuid = id
	return id, nil
}

// ensureAtStart is a background job: the limited client ready before the first key
// needs it; a failure is logged and retried when a key does.
func (l *limitedKeys) ensureAtStart(log *zap.Logger) func(context.Context) {
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := l.client(ctx); err != nil && ctx.Err() == nil {
			log.Warn("limited keys: cannot ensure the limited client yet; retried when a key is limited",
				zap.String("client_id", l.spec.ClientID), zap.Error(err))
		}
	}
}

func (l *limitedKeys) ExchangeCeiling(ctx context.Context) (keycloak.Roles, bool, error) {
	return l.kc.ExchangeCeiling(ctx)
}

func (l *limitedKeys) EnsureRoleScope(ctx context.Context, role keycloak.RoleMapping) (keycloak.RoleScope, error) {
	id, err := l.client(ctx)
	if err != nil {
		return keycloak.RoleScope{}, err
	}
	return l.kc.EnsureRoleScope(ctx, id, role)
}
