package server

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/console"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/ratelimit"
	"github.com/keyward/keyward/webhooks"
)

// newConsole wires the web console, or the page saying it is off when no console
// client secret is configured.
func newConsole(cfg config.Config, log *zap.Logger, store *models.Store, kc *keycloak.Client, verifier *keycloak.Verifier,
	keySvc *keys.Service, prov *provisioning.Service, hooks *webhooks.Service, limiter ratelimit.Limiter,
) (http.Handler, error) {
	if cfg.ConsoleClientSecret == "" {
		return console.NotConfigured(), nil
	}
	root, err := encryptionKeyBytes(cfg)
	if err != nil {
		return nil, err
	}
	secrets, err := console.SecretsFrom(root)
	if err != nil {
		return nil, err
	}
	issuer, err := url.Parse(kc.Issuer())
	if err != nil {
		return nil, fmt.Errorf("console: issuer: %w", err)
	}
	c, err := console.New(console.Config{
		Log:             log.Named("console"),
		URL:             cfg.ConsoleURL,
		KeywardURL:      cfg.PublicURL,
		KeycloakOrigin:  issuer.Scheme + "://" + issuer.Host,
		OIDC:            kc.OIDC(cfg.ConsoleClientID, cfg.ConsoleClientSecret, verifier),
		Verifier:        verifier,
		Principals:      kc,
		KeyTokenClients: []string{cfg.ClientID, cfg.LimitedClientID},
		AdminRole:       cfg.AdminRole,
		Sessions:        store,
		Secrets:         secrets,
		Keys:            keySvc,
		Provisioning:    prov,
		Webhooks:        hooks,
		Audit:           audit.NewReader(store),
		SessionIdle:     cfg.ConsoleSessionIdle,
		SessionMax:      cfg.ConsoleSessionMax,
		RefreshEvery:    cfg.ConsoleRefresh,
		LoginLimiter:    limiter,
		LoginRate:       cfg.ConsoleLoginRate,
		Clock:           time.Now,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
