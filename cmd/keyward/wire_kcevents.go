package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"

	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/events"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// eventJobs are the background jobs of issue 15 parts 1, 3 and 4: following
// Keycloak's events (every replica watches for token drops; one at a time changes keys).
func eventJobs(cfg config.Config, kc *keycloak.Client, store *models.Store, keySvc *keys.Service, log *zap.Logger) []func(context.Context) {
	follower := events.New(events.Config{
		Feed: kc, Store: store, Keys: keySvc, Log: log,
		Interval:          cfg.Events.PollInterval,
		OnCredentialReset: cfg.Events.OnCredentialReset,
		Holder:            replicaName(),
		WatchTokens:       cfg.TokenCache,
	})
	return []func(context.Context){follower.Run}
}

// replicaName names this process in leases: the host name and a random suffix, so
// two processes on one host are two holders.
func replicaName() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
