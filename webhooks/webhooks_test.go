package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/webhooks"
)

// backend is a database the tests run on; dsn gives a fresh, empty one (PostgreSQL
// from internal/pgtest, skipped or failed as it rules when absent).
type backend struct {
	name string
	dsn  func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyward.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// eachBackend runs test on both backends.
func eachBackend(t *testing.T, test func(t *testing.T, dsn string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.dsn(t)) })
	}
}

// fixture is webhooks wired as main wires them, on a real store.
type fixture struct {
	dsn      string
	store    *models.Store
	box      *webhooks.SecretBox
	guard    *webhooks.Guard
	svc      *webhooks.Service
	recorder *audit.Recorder
	clock    *testkit.Clock
}

var (
	admin   = audit.Actor{ID: "carol-id", Name: "carol", Admin: true, RequestID: "req-1"}
	pepper  = []byte(strings.Repeat("p", 32))
	loopOK  = []string{"127.0.0.0/8", "::1/128"}
	fixedAt = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
)

func openStore(t *testing.T, dsn string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), dsn, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s.UseOutbox(webhooks.Outbox)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newFixture(t *testing.T, dsn string, clock *testkit.Clock, allowed ...string) *fixture {
	t.Helper()
	key, err := webhooks.SecretKeyFrom(pepper)
	if err != nil {
		t.Fatal(err)
	}
	box, err := webhooks.NewSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := webhooks.NewGuard(allowed)
	if err != nil {
		t.Fatal(err)
	}
	store := openStore(t, dsn)
	rec := audit.NewRecorder(store, zap.NewNop(), clock.Now)
	return &fixture{dsn: dsn, store: store, box: box, guard: guard, recorder: rec, clock: clock,
		svc: webhooks.NewService(webhooks.ServiceConfig{Store: store, Box: box, Guard: guard, Audit: rec, Clock: clock.Now})}
}

// dispatcher is a dispatcher on store, with the fixture's clock and no jitter.
func (f *fixture) dispatcher(store webhooks.DeliveryStore, owner string) *webhooks.Dispatcher {
	return webhooks.NewDispatcher(webhooks.DispatcherConfig{
		Store: store, Box: f.box, Guard: f.guard, Clock: f.clock.Now, Owner: owner,
		Timeout: 5 * time.Second, Poll: 20 * time.Millisecond, Jitter: func() float64 { return 1 },
	})
}

func (f *fixture) register(t *testing.T, url string, types ...string) webhooks.WithSecret {
	t.Helper()
	got, err := f.svc.Create(context.Background(), admin, webhooks.EndpointInput{URL: url, EventTypes: types})
	if err != nil {
		t.Fatalf("register %s: %v", url, err)
	}
	return got
}

// keyCreated records what the key service records when a key is made.
func (f *fixture) keyCreated(t *testing.T, name string) string {
	t.Helper()
	id := uuid.NewString()
	if err := f.recorder.RecordStrict(context.Background(), audit.Actor{ID: "alice-id", Name: "alice", RequestID: "r-" + name},
		"key.create", "key", id, "alice-id", map[string]any{"name": name, "prefix": "kw_test_abcdefABCDEF", "environment": "development"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	status int
}

// receiver is a real HTTP server on a loopback address that answers with the
// statuses it is given, in turn (the last one from then on).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
}

func newReceiver(t *testing.T, addr string, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if n := len(r.got); n < len(r.statuses) {
			status = r.statuses[n]
		} else if len(r.statuses) > 0 {
			status = r.statuses[len(r.statuses)-1]
		}
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		r.Listener = ln
	}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func deliverDue(t *testing.T, d *webhooks.Dispatcher) int {
	t.Helper()
	n, err := d.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deliveries(t *testing.T, f *fixture, endpointID string) []webhooks.Delivery {
	t.Helper()
	p, err := f.svc.Deliveries(context.Background(), endpointID, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

// A receiver that checks signatures with the Standard Webhooks reference library
// accepts what Keyward sends, and refuses it tampered or under another secret.
func TestDelivery_SignedPerStandardWebhooks_ReferenceLibraryVerifies(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, testkit.NewClock(time.Now()), loopOK...)
		rcv := newReceiver(t, "")
		ep := f.register(t, rcv.URL+"/hooks?token=receiver-own", "key.*")
		if !strings.HasPrefix(ep.Secret, "whsec_") {
			t.Fatalf("secret %q lacks the whsec_ prefix", ep.Secret)
		}
		keyID := f.keyCreated(t, "laptop")
		if n := deliverDue(t, f.dispatcher(f.store, "a")); n != 1 {
			t.Fatalf("delivered %d messages, want 1", n)
		}
		got := rcv.requests()
		if len(got) != 1 {
			t.Fatalf("receiver got %d requests, want 1", len(got))
		}
		wh, err := standardwebhooks.NewWebhook(ep.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(got[0].body, got[0].header); err != nil {
			t.Fatalf("the reference library refuses the signature: %v", err)
		}
		tampered := []byte(strings.Replace(string(got[0].body), "laptop", "lapt0p", 1))
		if err := wh.Verify(tampered, got[0].header); err == nil {
			t.Fatal("a tampered body verifies")
		}
		other, _ := standardwebhooks.NewWebhook("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
		if err := other.Verify(got[0].body, got[0].header); err == nil {
			t.Fatal("another secret verifies")
		}
		var p struct {
			Type      string         `json:"type"`
			Timestamp time.Time      `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(got[0].body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != "key.created" || p.Data["id"] != keyID || p.Data["prefix"] != "kw_test_abcdefABCDEF" ||
			p.Data["owner"] != "alice-id" || p.Data["name"] != "laptop" || p.Timestamp.IsZero() {
			t.Fatalf("payload: %s", got[0].body)
		}
		if id := got[0].header.Get("webhook-id"); !strings.HasPrefix(id, "msg_") {
			t.Fatalf("webhook-id %q", id)
		}
		if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type %q", ct)
		}
	})
}

// A receiver that fails three times, then succeeds, gets exactly one successful
// delivery; the log shows four attempts, spaced by the backoff.
func TestDelivery_FailsThreeTimesThenSucceeds_OneSuccessFourAttempts(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		clock := testkit.NewClock(fixedAt)
		f := newFixture(t, dsn, clock, loopOK...)
		rcv := newReceiver(t, "", 500, 503, 429, 200)
		ep := f.register(t, rcv.URL, "key.created")
		f.keyCreated(t, "ci")
		d := f.dispatcher(f.store, "a")
		for _, wait := range []time.Duration{10 * time.Second, 30 * time.Second, 90 * time.Second} {
			if n := deliverDue(t, d); n != 1 {
				t.Fatalf("due: %d, want 1", n)
			}
			clock.Advance(wait - time.Second)
			if n := deliverDue(t, d); n != 0 {
				t.Fatalf("retried %v early", time.Second)
			}
			clock.Advance(time.Second)
		}
		if n := deliverDue(t, d); n != 1 {
			t.Fatalf("fourth attempt: %d due", n)
		}
		clock.Advance(48 * time.Hour)
		if n := deliverDue(t, d); n != 0 {
			t.Fatalf("a delivered message was sent again (%d)", n)
		}
		got := rcv.requests()
		successes := 0
		for _, r := range got {
			if r.status == 200 {
				successes++
			}
			if r.header.Get("webhook-id") != got[0].header.Get("webhook-id") {
				t.Fatal("the webhook-id changed between attempts")
			}
		}
		if len(got) != 4 || successes != 1 {
			t.Fatalf("receiver got %d requests, %d successful; want 4 and 1", len(got), successes)
		}
		log := deliveries(t, f, ep.Endpoint.ID)
		if len(log) != 1 || log[0].State != models.DeliverySucceeded || len(log[0].Attempts) != 4 {
			t.Fatalf("delivery log: %+v", log)
		}
		for i, want := range []int{500, 503, 429, 200} {
			a := log[0].Attempts[i]
			if a.StatusCode != want || (want == 200) != (a.Error == "") {
				t.Errorf("attempt %d: status %d error %q, want %d", i+1, a.StatusCode, a.Error, want)
			}
		}
		if gap := log[0].Attempts[3].At.Sub(log[0].Attempts[2].At); gap != 90*time.Second {
			t.Errorf("third retry after %v, want 90s", gap)
		}
	})
}

// A restart between attempts (dispatcher and store closed, new ones on the same
// database) loses nothing and sends nothing twice; the webhook-id stays the same.
// A dispatcher that dies holding a lease delays the message until the lease runs out.
func TestDelivery_RestartMidRetry_NoLossNoDuplicate(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		clock := testkit.NewClock(fixedAt)
		f := newFixture(t, dsn, clock, loopOK...)
		rcv := newReceiver(t, "", 500, 500, 200)
		ep := f.register(t, rcv.URL, "*")
		f.keyCreated(t, "restart")
		f.keyCreated(t, "crash")

		first := openStore(t, dsn)
		if n := deliverDue(t, f.dispatcher(first, "replica-1")); n != 2 {
			t.Fatalf("first attempts: %d", n)
		}
		_ = first.Close()
		// replica-2 claims the due messages and dies before sending.
		clock.Advance(10 * time.Second)
		dead := openStore(t, dsn)
		claimed, err := dead.ClaimWebhookDeliveries(context.Background(), "replica-2", clock.Now(), time.Minute, 1)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		_ = dead.Close()

		second := openStore(t, dsn)
		d := f.dispatcher(second, "replica-3")
		if n := deliverDue(t, d); n != 1 {
			t.Fatalf("after the restart %d due, want 1 (the other is leased)", n)
		}
		for i := 0; i < 5; i++ { // past the dead replica's lease and the retry
			clock.Advance(time.Minute)
			deliverDue(t, d)
		}
		byID := map[string][]int{}
		for _, r := range rcv.requests() {
			id := r.header.Get("webhook-id")
			byID[id] = append(byID[id], r.status)
		}
		if len(byID) != 2 {
			t.Fatalf("receiver saw %d messages, want 2: %v", len(byID), byID)
		}
		for id, statuses := range byID {
			ok := 0
			for _, s := range statuses {
				if s == 200 {
					ok++
				}
			}
			if ok != 1 {
				t.Errorf("%s: statuses %v, want exactly one success", id, statuses)
			}
		}
		for _, dl := range deliveries(t, f, ep.Endpoint.ID) {
			if dl.State != models.DeliverySucceeded {
				t.Errorf("delivery %s is %s", dl.ID, dl.State)
			}
		}
	})
}

// Two dispatchers on one database, each with its own connections, deliver each
// message once.
func TestDelivery_TwoDispatchers_EachMessageOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, testkit.NewClock(time.Now()), loopOK...)
		rcv := newReceiver(t, "")
		f.register(t, rcv.URL, "key.created")
		const messages = 40
		for i := 0; i < messages; i++ {
			f.keyCreated(t, "k"+string(rune('a'+i%26))+uuid.NewString()[:4])
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, owner := range []string{"replica-a", "replica-b"} {
			d := f.dispatcher(openStore(t, dsn), owner)
			wg.Add(1)
			go func() { defer wg.Done(); d.Run(ctx) }()
		}
		deadline := time.Now().Add(60 * time.Second)
		for len(rcv.requests()) < messages && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // room for a duplicate to show
		cancel()
		wg.Wait()
		seen := map[string]int{}
		for _, r := range rcv.requests() {
			seen[r.header.Get("webhook-id")]++
		}
		if len(seen) != messages {
			t.Fatalf("%d distinct messages delivered, want %d", len(seen), messages)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
	})
}

// A receiver that never answers well: retries go on for a day, then stop; the
// endpoint is disabled and queues nothing new until an admin enables it again.
func TestDelivery_FailingForADay_GivesUpAndDisablesEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		clock := testkit.NewClock(fixedAt)
		f := newFixture(t, dsn, clock, loopOK...)
		rcv := newReceiver(t, "", 500)
		ep := f.register(t, rcv.URL, "key.*")
		f.keyCreated(t, "doomed")
		d := f.dispatcher(f.store, "a")
		for i := 0; i < 100; i++ {
			deliverDue(t, d)
			clock.Advance(time.Hour)
		}
		log := deliveries(t, f, ep.Endpoint.ID)
		if len(log) != 1 || log[0].State != models.DeliveryFailed {
			t.Fatalf("after a day of failures: %+v", log)
		}
		last := log[0].Attempts[len(log[0].Attempts)-1]
		if span := last.At.Sub(log[0].Attempts[0].At); span < 23*time.Hour || span > 25*time.Hour {
			t.Errorf("retried for %v, want about a day", span)
		}
		if n := len(log[0].Attempts); n < 8 || n > 20 {
			t.Errorf("%d attempts in a day", n)
		}
		got, err := f.svc.Endpoint(context.Background(), ep.Endpoint.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Enabled || got.DisabledReason != models.DisabledFailing {
			t.Fatalf("endpoint enabled=%v reason=%q after a day of failures", got.Enabled, got.DisabledReason)
		}
		f.keyCreated(t, "while-disabled")
		if log := deliveries(t, f, ep.Endpoint.ID); len(log) != 1 {
			t.Fatalf("a disabled endpoint queued %d deliveries", len(log))
		}
		on := true
		again, err := f.svc.Update(context.Background(), admin, ep.Endpoint.ID, webhooks.EndpointPatch{Enabled: &on})
		if err != nil || !again.Enabled || again.DisabledReason != "" || again.ConsecutiveFailures != 0 || again.FailingSince != nil {
			t.Fatalf("enabled again: %+v %v", again, err)
		}
	})
}

// Manual redelivery sends the same message again under the same webhook-id, logged
// as a manual attempt.
func TestDelivery_Redeliver_SameWebhookID(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		clock := testkit.NewClock(time.Now())
		f := newFixture(t, dsn, clock, loopOK...)
		rcv := newReceiver(t, "")
		ep := f.register(t, rcv.URL, "key.created")
		f.keyCreated(t, "again")
		d := f.dispatcher(f.store, "a")
		deliverDue(t, d)
		first := deliveries(t, f, ep.Endpoint.ID)[0]
		clock.Advance(time.Second)
		if _, err := f.svc.Redeliver(context.Background(), admin, ep.Endpoint.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if n := deliverDue(t, d); n != 1 {
			t.Fatalf("redelivery not due: %d", n)
		}
		got := rcv.requests()
		if len(got) != 2 || got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") || string(got[0].body) != string(got[1].body) {
			t.Fatalf("redelivery: %d requests", len(got))
		}
		log := deliveries(t, f, ep.Endpoint.ID)[0]
		if len(log.Attempts) != 2 || log.Attempts[0].Manual || !log.Attempts[1].Manual {
			t.Fatalf("attempts: %+v", log.Attempts)
		}
		_, err := f.svc.Redeliver(context.Background(), admin, ep.Endpoint.ID, uuid.NewString())
		if !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("redeliver of an unknown delivery: %v", err)
		}
		other := f.register(t, rcv.URL, "key.created")
		if _, err := f.svc.Redeliver(context.Background(), admin, other.Endpoint.ID, first.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("redeliver through another endpoint: %v", err)
		}
	})
}

// The outbox: an audited change and its deliveries are stored together; events of
// other types, disabled endpoints and changes that are not webhook events queue
// nothing; a failed audit write queues nothing.
func TestOutbox_QueuedWithTheAuditEventOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, testkit.NewClock(time.Now()), loopOK...)
		ctx := context.Background()
		keys := f.register(t, "http://127.0.0.1:9/keys", "key.revoked", "key.created")
		clients := f.register(t, "http://127.0.0.1:9/clients", "client.*")
		off := false
		disabled, err := f.svc.Create(ctx, admin, webhooks.EndpointInput{URL: "http://127.0.0.1:9/off", EventTypes: []string{"*"}, Enabled: &off})
		if err != nil {
			t.Fatal(err)
		}
		ev := &models.AuditEvent{ID: uuid.NewString(), ActorID: "a", Action: "key.delete", TargetType: "key", TargetID: "k1", OwnerID: "o"}
		if err := f.store.RecordAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		dup := *ev // the same id again: the audit insert fails, and nothing is queued
		if err := f.store.RecordAudit(ctx, &dup); err == nil {
			t.Fatal("a duplicate audit id was stored")
		}
		for _, action := range []string{"acl_group.create", "client.test", "key.rotate", "webhook.create"} {
			if err := f.store.RecordAudit(ctx, &models.AuditEvent{ActorID: "a", Action: action, TargetType: "x", TargetID: "y"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.store.RecordAudit(ctx, &models.AuditEvent{ActorID: "a", Action: "client.create", TargetType: "client", TargetID: "c1"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ep   string
			want []string
		}{{keys.Endpoint.ID, []string{"key.revoked"}}, {clients.Endpoint.ID, []string{"client.created"}}, {disabled.Endpoint.ID, nil}} {
			var got []string
			for _, d := range deliveries(t, f, c.ep) {
				got = append(got, d.EventType)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("endpoint %s queued %v, want %v", c.ep, got, c.want)
			}
		}
	})
}

// The payload never carries key material or a secret, whatever the details hold.
func TestOutbox_PayloadNeverCarriesSecrets(t *testing.T) {
	const key = "kw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefgh_Zz9Yy8"
	details, _ := json.Marshal(map[string]any{
		"name": "n", "key": key, "secret": "s3cr3t", "client_secret": "cs", "nested": map[string]any{"token": "t", "note": "was " + key},
		"list": []any{key},
	})
	msg, ok := webhooks.Outbox(models.AuditEvent{ID: "e", Action: "key.rotate", TargetType: "key", TargetID: "k", Details: string(details), IP: "203.0.113.9"})
	if !ok || msg.EventType != "key.rotated" {
		t.Fatalf("outbox: %v %v", msg, ok)
	}
	for _, bad := range []string{key, "AbCdEfGhIjKlMnOpQrStUvWxYz", "s3cr3t", `"cs"`, `"t"`, "203.0.113.9"} {
		if strings.Contains(string(msg.Payload), bad) {
			t.Errorf("payload holds %q: %s", bad, msg.Payload)
		}
	}
	if !strings.Contains(string(msg.Payload), `"name":"n"`) {
		t.Errorf("payload lost the name: %s", msg.Payload)
	}
}

// The signing secret is stored sealed: neither its text nor its key bytes are in the
// database file, and the sealed form opens only for its own endpoint.
func TestSecret_StoredSealed_NeverInClear(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "keyward.db")
	f := newFixture(t, dsn, testkit.NewClock(time.Now()), loopOK...)
	created := f.register(t, "http://127.0.0.1:9/x", "*")
	rotated, err := f.svc.RotateSecret(context.Background(), admin, created.Endpoint.ID, 0)
	if err != nil || rotated.Secret == created.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotate: %v", err)
	}
	_ = f.store.Close()
	raw := readAll(t, dsn, dsn+"-wal")
	for _, s := range []string{created.Secret, rotated.Secret} {
		b64 := strings.TrimPrefix(s, "whsec_")
		if strings.Contains(raw, b64) || strings.Contains(raw, b64[:16]) {
			t.Fatalf("the database holds a signing secret in clear")
		}
	}
	store := openStore(t, dsn)
	ep, err := store.WebhookEndpoint(context.Background(), created.Endpoint.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.box.Open(ep.ID, ep.SecretSealed); err != nil {
		t.Fatalf("the sealed secret does not open: %v", err)
	}
	if _, err := f.box.Open(uuid.NewString(), ep.SecretSealed); err == nil {
		t.Fatal("a sealed secret opens for another endpoint")
	}
	otherKey, _ := webhooks.SecretKeyFrom([]byte(strings.Repeat("q", 32)))
	other, _ := webhooks.NewSecretBox(otherKey)
	if _, err := other.Open(ep.ID, ep.SecretSealed); err == nil {
		t.Fatal("a sealed secret opens under another pepper")
	}
}

func readAll(t *testing.T, paths ...string) string {
	t.Helper()
	var sb strings.Builder
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			sb.Write(b)
		}
	}
	return sb.String()
}

// Bad input is refused naming the field, and nothing is written.
func TestService_BadInput_FieldNamed_NothingWritten(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "k.db"), testkit.NewClock(time.Now()), loopOK...)
	ctx := context.Background()
	for _, c := range []struct {
		in    webhooks.EndpointInput
		field string
	}{
		{webhooks.EndpointInput{EventTypes: []string{"*"}}, "url"},
		{webhooks.EndpointInput{URL: "ftp://example.com/", EventTypes: []string{"*"}}, "url"},
		{webhooks.EndpointInput{URL: "https://user:pw@example.com/", EventTypes: []string{"*"}}, "url"},
		{webhooks.EndpointInput{URL: "https://example.com/#x", EventTypes: []string{"*"}}, "url"},
		{webhooks.EndpointInput{URL: "/relative", EventTypes: []string{"*"}}, "url"},
		{webhooks.EndpointInput{URL: "https://example.com/"}, "event_types"},
		{webhooks.EndpointInput{URL: "https://example.com/", EventTypes: []string{"key.exploded"}}, "event_types[0]"},
		{webhooks.EndpointInput{URL: "https://example.com/", EventTypes: []string{"key.*", "key.*"}}, "event_types[1]"},
		{webhooks.EndpointInput{URL: "https://example.com/", EventTypes: []string{"*"}, Description: "a\u202eb"}, "description"},
		{webhooks.EndpointInput{URL: "https://example.com/", EventTypes: []string{"*"}, Description: strings.Repeat("d", 501)}, "description"},
	} {
		_, err := f.svc.Create(ctx, admin, c.in)
		var v *errs.Validation
		if !errors.As(err, &v) || len(v.Fields) == 0 || v.Fields[0].Field != c.field {
			t.Errorf("%+v: %v, want a problem with %s", c.in, err, c.field)
		}
	}
	page, err := f.svc.List(ctx, "", 0)
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("refused input wrote %d endpoints (%v)", len(page.Items), err)
	}
	ep := f.register(t, "https://example.com/hook", "key.*")
	bad := "http://169.254.169.254/latest/meta-data/"
	if _, err := f.svc.Update(ctx, admin, ep.Endpoint.ID, webhooks.EndpointPatch{URL: &bad}); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("patch to the metadata address: %v", err)
	}
	got, _ := f.svc.Endpoint(ctx, ep.Endpoint.ID)
	if got.URL != "https://example.com/hook" {
		t.Fatalf("a refused patch changed the URL to %q", got.URL)
	}
}

// A stop lets the attempt under way finish and be recorded; nothing is cut short.
func TestDispatcher_Stop_FinishesTheAttemptUnderWay(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "k.db"), testkit.NewClock(time.Now()), loopOK...)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		once.Do(func() { close(started) })
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(slow.Close)
	ep := f.register(t, slow.URL, "key.created")
	f.keyCreated(t, "slow")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); f.dispatcher(f.store, "a").Run(ctx) }()
	<-started
	cancel()
	select {
	case <-stopped:
		t.Fatal("Run returned with an attempt under way")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-stopped
	log := deliveries(t, f, ep.Endpoint.ID)
	if len(log) != 1 || log[0].State != models.DeliverySucceeded || len(log[0].Attempts) != 1 {
		t.Fatalf("after the stop: %+v", log)
	}
}

// Finished deliveries leave the log after the retention, with their attempts; a
// message still waiting stays, however old.
func TestDispatcher_Prune_FinishedDeliveriesOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		clock := testkit.NewClock(fixedAt)
		f := newFixture(t, dsn, clock, loopOK...)
		ok, failing := newReceiver(t, ""), newReceiver(t, "", 500)
		delivered := f.register(t, ok.URL, "key.created")
		failed := f.register(t, failing.URL, "key.created")
		f.keyCreated(t, "old")
		d := webhooks.NewDispatcher(webhooks.DispatcherConfig{Store: f.store, Box: f.box, Guard: f.guard, Clock: clock.Now,
			MaxAge: time.Second, Retention: 7 * 24 * time.Hour, DisableAfterFailures: 1000})
		deliverDue(t, d)
		clock.Advance(time.Second)
		deliverDue(t, d) // the failing one gives up
		// A message queued for an endpoint that is then disabled waits.
		waiting := f.register(t, ok.URL, "key.revoked")
		if err := f.recorder.RecordStrict(context.Background(), admin, "key.delete", "key", uuid.NewString(), "alice-id", nil); err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := f.svc.Update(context.Background(), admin, waiting.Endpoint.ID, webhooks.EndpointPatch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		for _, ep := range []string{delivered.Endpoint.ID, failed.Endpoint.ID} {
			if log := deliveries(t, f, ep); len(log) == 0 || log[0].State == models.DeliveryPending {
				t.Fatalf("before pruning: %+v", log)
			}
		}
		clock.Advance(6 * 24 * time.Hour)
		d.Prune(context.Background())
		if len(deliveries(t, f, delivered.Endpoint.ID)) == 0 {
			t.Fatal("pruned before the retention")
		}
		clock.Advance(2 * 24 * time.Hour)
		d.Prune(context.Background())
		for _, ep := range []string{delivered.Endpoint.ID, failed.Endpoint.ID} {
			if log := deliveries(t, f, ep); len(log) != 0 {
				t.Errorf("endpoint %s keeps %d finished deliveries past the retention", ep, len(log))
			}
		}
		if log := deliveries(t, f, waiting.Endpoint.ID); len(log) != 1 || log[0].State != models.DeliveryPending {
			t.Errorf("the waiting message: %+v", log)
		}
	})
}

// A rotation with an overlap: both secrets sign until it ends, so a receiver with
// either verifies; after it only the new one does. Without one, the old stops at once.
func TestDelivery_RotationOverlap_BothSecretsSignUntilItEnds(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		clock := testkit.NewClock(time.Now())
		f := newFixture(t, dsn, clock, loopOK...)
		rcv := newReceiver(t, "")
		ep := f.register(t, rcv.URL, "key.created")
		rotated, err := f.svc.RotateSecret(context.Background(), admin, ep.Endpoint.ID, 24)
		if err != nil || rotated.Endpoint.PreviousSecretUntil == nil {
			t.Fatalf("rotate: %+v %v", rotated.Endpoint, err)
		}
		d := f.dispatcher(f.store, "a")
		f.keyCreated(t, "during")
		deliverDue(t, d)
		clock.Advance(25 * time.Hour)
		f.keyCreated(t, "after")
		deliverDue(t, d)
		if _, err := f.svc.RotateSecret(context.Background(), admin, ep.Endpoint.ID, 169); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("an overlap over a week: %v", err)
		}
		again, err := f.svc.RotateSecret(context.Background(), admin, ep.Endpoint.ID, 0)
		if err != nil || again.Endpoint.PreviousSecretUntil != nil {
			t.Fatalf("rotate without overlap: %+v %v", again.Endpoint, err)
		}
		f.keyCreated(t, "leaked")
		deliverDue(t, d)
		got := rcv.requests()
		if len(got) != 3 {
			t.Fatalf("%d requests", len(got))
		}
		verifies := func(secret string, r received) bool {
			wh, _ := standardwebhooks.NewWebhook(secret)
			return wh.VerifyIgnoringTimestamp(r.body, r.header) == nil // the test clock moved a day
		}
		for i, want := range []struct{ old, rotatedNew, last bool }{{true, true, false}, {false, true, false}, {false, false, true}} {
			if verifies(ep.Secret, got[i]) != want.old || verifies(rotated.Secret, got[i]) != want.rotatedNew ||
				verifies(again.Secret, got[i]) != want.last {
				t.Errorf("message %d (signature %q): old/new/last verify = %v/%v/%v, want %+v", i, got[i].header.Get("webhook-signature"),
					verifies(ep.Secret, got[i]), verifies(rotated.Secret, got[i]), verifies(again.Secret, got[i]), want)
			}
		}
	})
}

// An endpoint that is down writes no line per attempt at info: only its first failure,
// the endpoint disabled (with the first message given up) and each other message given
// up. The delivery log keeps every attempt.
func TestDispatcher_EndpointDown_LogsStateChangesNotAttempts(t *testing.T) {
	clock := testkit.NewClock(fixedAt)
	f := newFixture(t, filepath.Join(t.TempDir(), "k.db"), clock, loopOK...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hooks"
	_ = ln.Close() // nothing listens there: every attempt is refused
	ep := f.register(t, closed, "key.created")
	for _, name := range []string{"one", "two", "three"} {
		f.keyCreated(t, name)
	}
	core, logs := observer.New(zap.InfoLevel)
	d := webhooks.NewDispatcher(webhooks.DispatcherConfig{Store: f.store, Box: f.box, Guard: f.guard, Clock: clock.Now,
		Log: zap.New(core), Timeout: 5 * time.Second, Jitter: func() float64 { return 1 }})
	attempts := 0
	for i := 0; i < 30; i++ {
		attempts += deliverDue(t, d)
		clock.Advance(time.Hour)
	}
	if attempts < 20 {
		t.Fatalf("only %d attempts: the test does not cover a day of failures", attempts)
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	want := []string{
		"info webhook endpoint failing; retrying (each attempt logged at debug)",
		"warn webhook endpoint disabled after repeated failure",
		"warn webhook message given up",
		"warn webhook message given up",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%d failed attempts logged at info and above:\n%s\nwant:\n%s", attempts, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	total := 0
	for _, del := range deliveries(t, f, ep.Endpoint.ID) {
		total += len(del.Attempts)
	}
	if total != attempts {
		t.Errorf("the delivery log keeps %d attempts, %d were made", total, attempts)
	}
}

// An endpoint that fails and then answers again logs both changes at info, not the
// retries between them.
func TestDispatcher_EndpointRecovers_LogsFailingAndRecovered(t *testing.T) {
	clock := testkit.NewClock(fixedAt)
	f := newFixture(t, filepath.Join(t.TempDir(), "k.db"), clock, loopOK...)
	rcv := newReceiver(t, "", 500, 503, 502, 200)
	f.register(t, rcv.URL, "key.created")
	f.keyCreated(t, "flaky")
	core, logs := observer.New(zap.InfoLevel)
	d := webhooks.NewDispatcher(webhooks.DispatcherConfig{Store: f.store, Box: f.box, Guard: f.guard, Clock: clock.Now,
		Log: zap.New(core), Timeout: 5 * time.Second, Jitter: func() float64 { return 1 }})
	for i := 0; i < 10 && len(rcv.requests()) < 4; i++ {
		deliverDue(t, d)
		clock.Advance(time.Hour)
	}
	if n := len(rcv.requests()); n != 4 {
		t.Fatalf("the receiver got %d requests, want 4", n)
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	want := "info webhook endpoint failing; retrying (each attempt logged at debug)\ninfo webhook endpoint recovered"
	if strings.Join(got, "\n") != want {
		t.Errorf("logged at info and above:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if n := logs.FilterMessage("webhook endpoint recovered").All(); len(n) == 1 && n[0].ContextMap()["failed_attempts"] != int64(3) {
		t.Errorf("recovered after %v failed attempts, want 3", n[0].ContextMap()["failed_attempts"])
	}
}
