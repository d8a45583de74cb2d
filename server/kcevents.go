package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/events"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/leaks"
	"github.com/keyward/keyward/mail"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
	"github.com/keyward/keyward/reminders"
)

// eventJobs are the background jobs of issue 15 parts 1, 3 and 4: following
// Keycloak's events (every replica watches for token drops; one at a time changes keys).
func eventJobs(cfg config.Config, kc *keycloak.Client, store *models.Store, keySvc *keys.Service, recorder *audit.Recorder,
	log *zap.Logger, consumers reminders.Consumers,
) []func(context.Context) {
	follower := events.New(events.Config{
		Feed: kc, Store: store, Keys: keySvc, Log: log,
		Interval:          cfg.Events.PollInterval,
		OnCredentialReset: cfg.Events.OnCredentialReset,
		Holder:            replicaName(),
		WatchTokens:       cfg.TokenCache,
	})
	sender := newMailSender(cfg, log)
	reminder := reminders.New(reminders.Config{
		Keys: keySvc, Store: store, Users: kc, Consumers: consumers, Mail: sender, Audit: recorder, Log: log,
		Interval: cfg.Events.ReminderInterval, PublicURL: cfg.PublicURL,
	})
	return []func(context.Context){follower.Run, reminder.Run}
}

// replicaName names this process in leases: the host name and a random suffix, so
// two processes on one host are two holders.
func replicaName() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// newMailSender is the configured SMTP server, or nil (mail off).
func newMailSender(cfg config.Config, log *zap.Logger) mail.Sender {
	if cfg.Events.SMTPURL == "" {
		return nil
	}
	smtp, err := mail.NewSMTP(cfg.Events.SMTPURL, cfg.Events.MailFrom, 30*time.Second)
	if err != nil { // Validate checked the URL's shape: this is not expected
		log.Error("mail is off: the SMTP URL cannot be used", zap.Error(err))
		return nil
	}
	return smtp
}

// newLeaks is the service behind POST /v1/keys/leaked.
func newLeaks(cfg config.Config, store *models.Store, hasher *exchange.Hasher, kc *keycloak.Client,
	recorder *audit.Recorder, limiter ratelimit.Limiter, log *zap.Logger, consumers leaks.Consumers,
) (*leaks.Service, error) {
	var reporters *leaks.Reporters
	if cfg.Events.LeakReporterKeysFile != "" {
		var err error
		if reporters, err = leaks.LoadReporters(cfg.Events.LeakReporterKeysFile); err != nil {
			return nil, err
		}
	} else {
		log.Info("leaked-key reports are accepted unsigned (no KEYWARD_LEAK_REPORTER_KEYS_FILE)")
	}
	return leaks.New(leaks.Config{
		Store: store, Hasher: hasher, Users: kc, Consumers: consumers, Mail: newMailSender(cfg, log), Audit: recorder, Log: log,
		Action: cfg.Events.LeakAction, Limiter: limiter, Reporters: reporters, PublicURL: cfg.PublicURL,
	}), nil
}
