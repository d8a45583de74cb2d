package server

import (
	"context"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/webhooks"
)

// newWebhooks wires webhooks: the outbox on the store (before anything records an
// audit event), the admin service and the dispatcher.
func newWebhooks(cfg config.Config, store *models.Store, recorder *audit.Recorder, log *zap.Logger) (*webhooks.Service, *webhooks.Dispatcher, error) {
	key, err := webhookSecretKey(cfg)
	if err != nil {
		return nil, nil, err
	}
	box, err := webhooks.NewSecretBox(key)
	if err != nil {
		return nil, nil, err
	}
	guard, err := webhooks.NewGuard(cfg.WebhookAllowedNetworks) // Validate checked every entry
	if err != nil {
		return nil, nil, err
	}
	store.UseOutbox(webhooks.Outbox)
	svc := webhooks.NewService(webhooks.ServiceConfig{Store: store, Box: box, Guard: guard, Audit: recorder})
	d := webhooks.NewDispatcher(webhooks.DispatcherConfig{
		Store: store, Box: box, Guard: guard, Log: log.Named("webhooks"), Timeout: cfg.WebhookTimeout,
	})
	return svc, d, nil
}

// webhookSecretKey is the key that seals webhook signing secrets at rest, derived
// from the encryption key every replica shares.
func webhookSecretKey(cfg config.Config) ([]byte, error) {
	root, err := encryptionKeyBytes(cfg)
	if err != nil {
		return nil, err
	}
	return webhooks.SecretKeyFrom(root)
}

// startDispatcher delivers webhooks until stop is called; stop returns once the
// attempts under way are recorded.
func startDispatcher(ctx context.Context, d *webhooks.Dispatcher) (stop func()) {
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(run)
	}()
	return func() {
		cancel()
		<-done
	}
}
