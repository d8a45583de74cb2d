package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/keyward/keyward/models"
)

// DeliveryStore is what the dispatcher needs of the store.
type DeliveryStore interface {
	ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]models.WebhookDelivery, error)
	WebhookEndpoint(ctx context.Context, id string) (models.WebhookEndpoint, error)
	RecordWebhookAttempt(ctx context.Context, o models.AttemptOutcome) error
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
}

// Defaults of the dispatcher.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultPoll        = time.Second
	DefaultMaxAge      = 24 * time.Hour
	DefaultConcurrency = 4
	// DefaultRetention is how long finished deliveries stay in the log.
	DefaultRetention = 30 * 24 * time.Hour
	pruneEvery       = time.Hour
	// An endpoint is disabled when a message to it is given up, when every attempt has
	// failed for DefaultMaxAge, or after this many failed attempts in a row.
	DefaultDisableAfterFailures = 100
	// The first retry waits this long; each next one three times as long, up to
	// maxDelay, each ±20%.
	firstDelay = 10 * time.Second
	maxDelay   = 6 * time.Hour
)

// DispatcherConfig is what a Dispatcher is built from; zero values take the defaults.
type DispatcherConfig struct {
	Store  DeliveryStore
	Box    *SecretBox
	Guard  *Guard
	Log    *zap.Logger
	Clock  func() time.Time
	Client *http.Client // default: Guard.Client(Timeout)
	// Owner names this replica in leases (default: host, pid and a random part).
	Owner                string
	Timeout              time.Duration
	Poll                 time.Duration
	MaxAge               time.Duration // a delivery is retried this long, then given up
	Retention            time.Duration // finished deliveries are kept this long
	Concurrency          int
	DisableAfterFailures int
	// Jitter gives a factor in [0.8, 1.2) for each retry delay (default random).
	Jitter func() float64
}

// Dispatcher delivers queued messages. Every replica runs one; a delivery is leased
// to one of them at a time, so each attempt is made once.
type Dispatcher struct {
	cfg   DispatcherConfig
	lease time.Duration
}

// NewDispatcher fills in the defaults.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = cfg.Guard.Client(cfg.Timeout)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = host + "-" + strconv.Itoa(os.Getpid()) + "-" + uuid.NewString()[:8]
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.DisableAfterFailures <= 0 {
		cfg.DisableAfterFailures = DefaultDisableAfterFailures
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.8 + 0.4*rand.Float64() }
	}
	// The lease outlasts an attempt by far, so it never runs out under one in flight.
	return &Dispatcher{cfg: cfg, lease: 3*cfg.Timeout + time.Minute}
}

// Run delivers until ctx ends, then returns once the attempts under way are recorded:
// a stop never cuts an attempt short, and what it did not start stays queued.
func (d *Dispatcher) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if time.Since(pruned) >= pruneEvery {
			pruned = time.Now()
			d.Prune(ctx)
		}
		n, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Log.Warn("webhook deliveries could not be claimed", zap.Error(err))
		}
		if n > 0 && err == nil {
			timer.Reset(0) // more may be due
		} else {
			timer.Reset(d.cfg.Poll)
		}
	}
}

// Prune drops finished deliveries older than the retention from the log. Every
// replica may do it: deleting what another deleted is harmless.
func (d *Dispatcher) Prune(ctx context.Context) {
	n, err := d.cfg.Store.PruneWebhookDeliveries(ctx, d.cfg.Clock().Add(-d.cfg.Retention))
	switch {
	case err != nil && ctx.Err() == nil:
		d.cfg.Log.Warn("old webhook deliveries not pruned", zap.Error(err))
	case n > 0:
		d.cfg.Log.Info("old webhook deliveries pruned", zap.Int64("deliveries", n))
	}
}

// DeliverDue claims the deliveries due now (up to the concurrency), attempts each and
// records the outcome; it returns when all are recorded, with how many it claimed.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	due, err := d.cfg.Store.ClaimWebhookDeliveries(ctx, d.cfg.Owner, d.cfg.Clock(), d.lease, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, del := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.attempt(context.WithoutCancel(ctx), del)
		}()
	}
	wg.Wait()
	return len(due), err
}

// attempt sends one delivery and records what came of it.
func (d *Dispatcher) attempt(ctx context.Context, del models.WebhookDelivery) {
	log := d.cfg.Log.With(zap.String("delivery_id", del.ID), zap.String("endpoint_id", del.EndpointID),
		zap.String("webhook_id", del.MessageID), zap.String("event_type", del.EventType))
	ep, err := d.cfg.Store.WebhookEndpoint(ctx, del.EndpointID)
	if errors.Is(err, models.ErrNotFound) {
		return // deleted with its deliveries meanwhile
	}
	var status int
	var problem string
	start := time.Now()
	at := d.cfg.Clock()
	if err != nil {
		problem = "the endpoint could not be read"
		log.Warn("webhook endpoint not read", zap.Error(err))
	} else {
		status, problem = d.send(ctx, ep, del, at)
	}
	elapsed := time.Since(start)
	ok := problem == ""
	out := models.AttemptOutcome{
		Delivery:  del,
		Attempt:   models.WebhookAttempt{At: at, StatusCode: status, Error: problem, DurationMS: elapsed.Milliseconds()},
		Succeeded: ok,
	}
	if !ok {
		out.NextAttemptAt = d.retryAt(del, at)
	}
	// Set by the store's one run of Health, read only when it succeeded.
	disabled, failedBefore := false, 0
	policy := healthPolicy{maxFailures: d.cfg.DisableAfterFailures, maxAge: d.cfg.MaxAge}
	out.Health = func(h *models.EndpointHealth) {
		failedBefore = h.ConsecutiveFailures
		disabled = policy.after(h, at, ok, out.NextAttemptAt == nil)
	}
	err = d.cfg.Store.RecordWebhookAttempt(ctx, out)
	// Each attempt is logged at debug; info and warn carry only changes of state, so an
	// endpoint that is down for a day writes a few lines, not one per retry. The
	// delivery log (Deliveries) keeps every attempt.
	fields := []zap.Field{zap.Int("status", status), zap.Int("attempt", del.Attempts+1)}
	if !ok {
		fields = append(fields, zap.String("error", problem), zap.Bool("retry", out.NextAttemptAt != nil))
	}
	switch {
	case err != nil:
		log.Warn("webhook attempt not recorded", zap.Error(err))
	case disabled:
		log.Warn("webhook endpoint disabled after repeated failure", fields...)
	case !ok && out.NextAttemptAt == nil:
		log.Warn("webhook message given up", fields...)
	case !ok && failedBefore == 0:
		log.Info("webhook endpoint failing; retrying (each attempt logged at debug)", fields...)
	case ok && failedBefore > 0:
		log.Info("webhook endpoint recovered", append(fields, zap.Int("failed_attempts", failedBefore))...)
	case ok:
		log.Debug("webhook delivered", append(fields, zap.Duration("duration", elapsed))...)
	default:
		log.Debug("webhook attempt failed", fields...)
	}
}

// retryAt is when a delivery that failed at `at` is tried again, or nil when its
// retry window is over. Backoff is exponential with jitter, and the last try falls
// on the window's end.
func (d *Dispatcher) retryAt(del models.WebhookDelivery, at time.Time) *time.Time {
	end := del.RetryFrom.Add(d.cfg.MaxAge)
	if !at.Before(end) {
		return nil
	}
	delay := firstDelay
	for i := 0; i < del.Attempts && delay < maxDelay; i++ {
		delay *= 3
	}
	delay = min(delay, maxDelay)
	next := at.Add(time.Duration(float64(delay) * d.cfg.Jitter()))
	if next.After(end) {
		next = end
	}
	return &next
}

// send makes one request: the status and "" on a 2xx answer, else what went wrong,
// in words that hold neither the URL (it may carry a token) nor a body.
func (d *Dispatcher) send(ctx context.Context, ep models.WebhookEndpoint, del models.WebhookDelivery, at time.Time) (int, string) {
	key, err := d.cfg.Box.Open(ep.ID, ep.SecretSealed)
	if err != nil {
		return 0, "the signing secret cannot be opened with this server's key; rotate the endpoint's secret"
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	body := []byte(del.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "the endpoint URL is not valid"
	}
	ts := at.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Keyward-Webhooks/1")
	req.Header.Set("webhook-id", del.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	signature := Signature(key, del.MessageID, ts, body)
	if ep.PreviousSecretUntil != nil && at.Before(*ep.PreviousSecretUntil) {
		// During a rotation both secrets sign; receivers accept either (the
		// specification's space-separated list).
		if old, err := d.cfg.Box.Open(ep.ID, ep.PreviousSecretSealed); err == nil {
			signature += " " + Signature(old, del.MessageID, ts, body)
		}
	}
	req.Header.Set("webhook-signature", signature)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, describe(err, d.cfg.Timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, ""
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Sprintf("HTTP %d: redirects are not followed; register the final URL", resp.StatusCode)
	}
	return resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// describe says why a request got no answer, without the URL url.Error repeats.
func describe(err error, timeout time.Duration) string {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return "refused: " + refused.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "the host name does not resolve"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "connection failed: " + oe.Op + ": " + oe.Err.Error()
	}
	return "request failed: " + err.Error()
}
