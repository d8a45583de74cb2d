// Package reminders tells key owners that a key is about to expire: a key.expiring
// audit event (which webhooks carry) and a mail 30, 7 and 1 day(s) before, and a
// key.expired event when it has. Each reminder happens once across restarts and
// replicas: its row is claimed in the store (unique per key and kind) before anything
// is sent; a mail that failed is retried by one replica at a time, never sent twice
// once it went out.
package reminders

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/mail"
	"github.com/keyward/keyward/models"
)

// Keys reads the keys the job reminds of (keys.Service).
type Keys interface {
	Due(ctx context.Context, kind string, from, to time.Time, limit int) ([]keys.Key, error)
	AnyState(ctx context.Context, id string) (keys.Key, error)
}

// Store is what the job keeps in the store.
type Store interface {
	ClaimReminder(ctx context.Context, keyID, kind string, now time.Time) (bool, error)
	ReminderSent(ctx context.Context, keyID, kind string, at time.Time) error
	ReminderFailed(ctx context.Context, keyID, kind, why string) error
	PendingReminders(ctx context.Context, claimedBefore time.Time, maxAttempts, limit int) ([]models.KeyReminder, error)
	ClaimReminderRetry(ctx context.Context, r models.KeyReminder, now time.Time) (bool, error)
}

// Users finds an owner's email in Keycloak.
type Users interface {
	FindUser(ctx context.Context, idOrUsername string) (keycloak.User, error)
}

// Consumers finds the contact address of a consumer key's consumer ("" for none;
// models.ErrNotFound when the consumer is gone).
type Consumers interface {
	ConsumerContact(ctx context.Context, consumerID string) (string, error)
}

// recipient is where k's reminder goes: its owner's email in Keycloak, or for a
// consumer's key the consumer's contact address ("": nobody to mail; the key.expiring
// event reaches the webhooks either way).
func (j *Job) recipient(ctx context.Context, k keys.Key) (string, error) {
	if k.Consumer != nil {
		if j.cfg.Consumers == nil {
			return "", nil
		}
		return j.cfg.Consumers.ConsumerContact(ctx, k.Consumer.ID)
	}
	owner, err := j.cfg.Users.FindUser(ctx, k.OwnerID)
	return owner.Email, err
}

// Config wires a Job; Keys, Store and Users are required.
type Config struct {
	Keys  Keys
	Store Store
	Users Users
	// Consumers, when set, gives consumer keys' reminders their consumer's contact.
	Consumers Consumers
	Mail      mail.Sender // nil: mail is off; events are still recorded
	Audit     *audit.Recorder
	Log       *zap.Logger
	Clock     func() time.Time
	// Interval between rounds (KEYWARD_REMINDER_INTERVAL).
	Interval time.Duration
	// PublicURL is Keyward's public URL; mails link to PublicURL/keys/<id>.
	PublicURL string
}

const (
	day = 24 * time.Hour
	// ExpiredLookback: a key that expired longer ago than this (before Keyward
	// reminded anyone, e.g. at the first start) gets no key.expired any more.
	ExpiredLookback = 30 * day
	// RetryAfter and MaxAttempts bound the retries of a failed mail.
	RetryAfter  = 5 * time.Minute
	MaxAttempts = 6
	batch       = 200
)

// threshold is one kind of reminder: keys whose expiry is in (now+after, now+within].
type threshold struct {
	kind          string
	after, within time.Duration
}

// thresholds, soonest last: a key gets the reminder of the window it is in, so one that
// is created with 3 days left gets the 7-day one, then the 1-day one, not all three.
var thresholds = []threshold{{"30d", 7 * day, 30 * day}, {"7d", day, 7 * day}, {"1d", 0, day}}

// Job sends the reminders.
type Job struct {
	cfg Config
	log *zap.Logger
}

// New returns a Job.
func New(cfg Config) *Job {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Minute
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Job{cfg: cfg, log: cfg.Log.With(zap.String("component", "expiry-reminders"))}
}

// Run does a round every Interval until ctx ends.
func (j *Job) Run(ctx context.Context) {
	if j.cfg.Mail == nil {
		j.log.Info("mail is off (no KEYWARD_SMTP_URL): expiry reminders are recorded as key.expiring events only")
	}
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		if err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("expiry reminders: round failed; next round retries", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// actor is who the audit names for what the job records.
var actor = audit.Actor{ID: "keyward", Name: "keyward"}

// RunOnce does one round: due reminders, then failed mails due a retry.
func (j *Job) RunOnce(ctx context.Context) error {
	now := j.cfg.Clock()
	var errs []error
	for _, th := range thresholds {
		due, err := j.cfg.Keys.Due(ctx, th.kind, now.Add(th.after), now.Add(th.within), batch)
		if err != nil {
			return err
		}
		for _, k := range due {
			errs = append(errs, j.remind(ctx, k, th.kind, now))
		}
	}
	expired, err := j.cfg.Keys.Due(ctx, "expired", now.Add(-ExpiredLookback), now, batch)
	if err != nil {
		return err
	}
	for _, k := range expired {
		won, err := j.cfg.Store.ClaimReminder(ctx, k.ID, "expired", now)
		if err != nil || !won {
			errs = append(errs, err)
			continue
		}
		j.cfg.Audit.Record(ctx, actor, "key.expired", "key", k.ID, k.OwnerID, map[string]any{
			"name": k.Name, "prefix": k.Prefix, "expires_at": k.ExpiresAt.UTC().Format(time.RFC3339),
		})
		errs = append(errs, j.cfg.Store.ReminderSent(ctx, k.ID, "expired", now))
	}
	errs = append(errs, j.retry(ctx, now))
	return errors.Join(errs...)
}

// remind claims the reminder; whoever claims it records the event and sends the mail.
func (j *Job) remind(ctx context.Context, k keys.Key, kind string, now time.Time) error {
	won, err := j.cfg.Store.ClaimReminder(ctx, k.ID, kind, now)
	if err != nil || !won {
		return err // another replica (or an earlier round) has it
	}
	days := daysLeft(*k.ExpiresAt, now)
	j.cfg.Audit.Record(ctx, actor, "key.expiring", "key", k.ID, k.OwnerID, map[string]any{
		"name": k.Name, "prefix": k.Prefix, "threshold": kind,
		"days_left": days, "expires_at": k.ExpiresAt.UTC().Format(time.RFC3339),
	})
	return j.deliver(ctx, k, kind, now)
}

// deliver mails the owner and records the outcome: sent (or nothing to send), or the
// failure, which a later round retries.
func (j *Job) deliver(ctx context.Context, k keys.Key, kind string, now time.Time) error {
	log := j.log.With(zap.String("key_id", k.ID), zap.String("kind", kind))
	if j.cfg.Mail == nil {
		return j.cfg.Store.ReminderSent(ctx, k.ID, kind, now)
	}
	to, err := j.recipient(ctx, k)
	switch {
	case errors.Is(err, keycloak.ErrNotFound), errors.Is(err, models.ErrNotFound):
		log.Info("expiry reminder: the owner is gone; no mail")
		return j.cfg.Store.ReminderSent(ctx, k.ID, kind, now)
	case err != nil:
		return errors.Join(err, j.cfg.Store.ReminderFailed(ctx, k.ID, kind, "owner lookup failed"))
	case to == "":
		log.Info("expiry reminder: the owner has no email address; no mail")
		return j.cfg.Store.ReminderSent(ctx, k.ID, kind, now)
	}
	msg := mail.ExpiryReminder(to, j.info(k), daysLeft(*k.ExpiresAt, now))
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := j.cfg.Mail.Send(sctx, msg); err != nil {
		log.Warn("expiry reminder: mail not sent; will retry", zap.Error(err))
		return j.cfg.Store.ReminderFailed(ctx, k.ID, kind, truncate(err.Error(), 200))
	}
	log.Info("expiry reminder mailed")
	return j.cfg.Store.ReminderSent(ctx, k.ID, kind, j.cfg.Clock())
}

// retry sends the mails that failed, each claimed by one replica per attempt.
func (j *Job) retry(ctx context.Context, now time.Time) error {
	pending, err := j.cfg.Store.PendingReminders(ctx, now.Add(-RetryAfter), MaxAttempts, batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range pending {
		won, err := j.cfg.Store.ClaimReminderRetry(ctx, r, now)
		if err != nil || !won {
			errs = append(errs, err)
			continue
		}
		k, err := j.cfg.Keys.AnyState(ctx, r.KeyID)
		if err != nil || k.DeletedAt != nil || k.ExpiresAt == nil || !k.ExpiresAt.After(now) {
			// Revoked, gone or expired since: the reminder has nothing left to say.
			errs = append(errs, j.cfg.Store.ReminderSent(ctx, r.KeyID, r.Kind, now))
			continue
		}
		errs = append(errs, j.deliver(ctx, k, r.Kind, now))
	}
	return errors.Join(errs...)
}

func (j *Job) info(k keys.Key) mail.KeyInfo {
	return mail.KeyInfo{ID: k.ID, Name: k.Name, Prefix: k.Prefix, ExpiresAt: *k.ExpiresAt,
		ConsoleURL: j.cfg.PublicURL + "/keys/" + k.ID}
}

func daysLeft(expires, now time.Time) int {
	return int(math.Ceil(expires.Sub(now).Hours() / 24))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
