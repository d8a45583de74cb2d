package reminders_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/smtpsink"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/mail"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/reminders"
)

// Reminders against the real SMTP sink (scripts/test.sh), the real Keycloak (the
// owner's email) and both store backends, with the clock moved forward.

const publicURL = "https://keyward.example.test"

type fixture struct {
	kc    *keycloak.Client
	sink  smtpsink.Sink
	mail  mail.Sender
	clock *testkit.Clock
}

func newFixture(t *testing.T) *fixture {
	env := kctest.Require(t)
	sink := smtpsink.Require(t)
	sender, err := mail.NewSMTP(sink.URL, "keyward@example.test", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kc := keycloak.New(keycloak.Config{BaseURL: env.URL, Realm: env.Realm, AdminClientID: env.AdminClientID,
		AdminClientSecret: env.AdminClientSecret})
	return &fixture{kc: kc, sink: sink, mail: sender, clock: testkit.NewClock(time.Now())}
}

func (f *fixture) job(s *models.Store) *reminders.Job {
	return reminders.New(reminders.Config{Keys: keys.New(keys.Config{Store: s, Clock: f.clock.Now}), Store: s, Users: f.kc, Mail: f.mail, Clock: f.clock.Now,
		Audit: audit.NewRecorder(s, zap.NewNop(), f.clock.Now), PublicURL: publicURL})
}

func open(t *testing.T, dsn string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newKey stores a real key of owner expiring in `in`; it returns the key and its text.
func newKey(t *testing.T, s *models.Store, ownerID, owner string, expires time.Time, tune ...func(*models.Key)) (models.Key, string) {
	t.Helper()
	parsed, err := exchange.GenerateKey(exchange.EnvLive)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := exchange.NewHasher([]byte(strings.Repeat("p", 32)))
	k := models.Key{OwnerID: ownerID, OwnerUsername: owner, Name: "deploy-bot", LookupID: parsed.LookupID,
		SecretHash: h.Hash(parsed.Secret), Environment: "production", Scopes: "", Enabled: true, ExpiresAt: &expires}
	for _, fn := range tune {
		fn(&k)
	}
	if err := s.CreateKey(context.Background(), &k); err != nil {
		t.Fatal(err)
	}
	return k, parsed.String()
}

func audits(t *testing.T, s *models.Store, keyID, action string) []models.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AuditFilter{TargetType: "key", TargetID: keyID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.AuditEvent
	for _, e := range evs {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func runAll(t *testing.T, jobs ...*reminders.Job) {
	t.Helper()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := j.RunOnce(context.Background()); err != nil {
				t.Errorf("RunOnce: %v", err)
			}
		}()
	}
	wg.Wait()
}

// TestReminders_OneMailPerThreshold_AcrossRestartsAndTwoInstances: two instances on one
// PostgreSQL run every round together, one of them restarts half way; the owner gets
// exactly the 30-, 7- and 1-day mails, and one key.expired.
func TestReminders_OneMailPerThreshold_AcrossRestartsAndTwoInstances(t *testing.T) {
	f := newFixture(t)
	env := kctest.Require(t)
	ownerID, owner := env.TempUser(t, "kw-remind")
	email := owner + "@example.test"
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	start := f.clock.Now()
	key, plaintext := newKey(t, a, ownerID, owner, start.Add(40*24*time.Hour))
	ja, jb := f.job(a), f.job(b)

	steps := []struct {
		at        time.Duration // after start
		wantMails int
	}{
		{0, 0},                              // 40 days left
		{10*24*time.Hour + time.Hour, 1},    // 29.96 days: the 30-day mail
		{11 * 24 * time.Hour, 1},            // nothing new
		{33*24*time.Hour + 12*time.Hour, 2}, // 6.5 days: the 7-day mail
		{34 * 24 * time.Hour, 2},
		{39*24*time.Hour + 6*time.Hour, 3}, // 18 hours: the 1-day mail
		{40*24*time.Hour + time.Minute, 3}, // expired: an event, no mail
		{41 * 24 * time.Hour, 3},
	}
	for i, st := range steps {
		f.clock.Set(start.Add(st.at))
		if i == 4 { // instance b restarts: a new store connection and a new job
			_ = b.Close()
			b = open(t, dsn)
			jb = f.job(b)
		}
		runAll(t, ja, jb, ja)
		if got := len(f.sink.To(t, email)); got != st.wantMails {
			t.Fatalf("step %d (+%v): %d mails to the owner, want %d", i, st.at, got, st.wantMails)
		}
	}
	mails := f.sink.To(t, email)
	sent, _ := exchange.ParseKey(plaintext)
	for i, want := range []string{"expires in 30 days", "expires in 7 days", "expires tomorrow"} {
		m := mails[i]
		if subj := m.Header.Get("Subject"); !strings.Contains(subj, want) || !strings.Contains(subj, "deploy-bot") {
			t.Errorf("mail %d subject %q, want it to say %q and name the key", i, subj, want)
		}
		for _, part := range []string{sent.Prefix(), publicURL + "/keys/" + key.ID, key.ExpiresAt.UTC().Format("2 January 2006")} {
			if !strings.Contains(m.Body, part) {
				t.Errorf("mail %d lacks %q:\n%s", i, part, m.Body)
			}
		}
		parsed, _ := exchange.ParseKey(plaintext)
		if strings.Contains(m.Raw, parsed.Secret) || strings.Contains(m.Raw, plaintext) {
			t.Fatalf("mail %d carries key material", i)
		}
		if m.Header.Get("From") == "" || !strings.Contains(m.Header.Get("From"), "keyward@example.test") {
			t.Errorf("mail %d From = %q", i, m.Header.Get("From"))
		}
	}
	expiring := audits(t, a, key.ID, "key.expiring")
	if len(expiring) != 3 {
		t.Fatalf("%d key.expiring events, want 3", len(expiring))
	}
	for _, e := range expiring {
		if !strings.Contains(e.Details, `"days_left"`) || !strings.Contains(e.Details, `"expires_at"`) || e.OwnerID != ownerID {
			t.Fatalf("key.expiring event %+v lacks days_left, expires_at or the owner", e)
		}
	}
	if n := len(audits(t, a, key.ID, "key.expired")); n != 1 {
		t.Fatalf("%d key.expired events, want 1", n)
	}
}

// TestReminders_MailRefused_RetriedLater_SentOnce: the SMTP server refuses the first
// attempt; the reminder is retried after a while, by one of two instances, and the
// owner gets exactly one mail.
func TestReminders_MailRefused_RetriedLater_SentOnce(t *testing.T) {
	f := newFixture(t)
	env := kctest.Require(t)
	ownerID, owner := env.TempUser(t, smtpsink.RejectOncePrefix+"remind")
	email := owner + "@example.test"
	for _, dsn := range []string{pgtest.DSN(t), ""} {
		if dsn == "" {
			dsn = t.TempDir() + "/keyward.db"
			ownerID, owner = env.TempUser(t, smtpsink.RejectOncePrefix+"remind")
			email = owner + "@example.test"
		}
		a, b := open(t, dsn), open(t, dsn)
		start := f.clock.Now()
		key, _ := newKey(t, a, ownerID, owner, start.Add(5*24*time.Hour))
		ja, jb := f.job(a), f.job(b)
		runAll(t, ja, jb)
		if n := len(f.sink.To(t, email)); n != 0 {
			t.Fatalf("%d mails after a refused attempt", n)
		}
		if n := len(audits(t, a, key.ID, "key.expiring")); n != 1 {
			t.Fatalf("%d key.expiring events, want 1 (the event does not wait for the mail)", n)
		}
		f.clock.Set(start.Add(time.Minute)) // too early for a retry
		runAll(t, ja, jb)
		if n := len(f.sink.To(t, email)); n != 0 {
			t.Fatalf("retried before RetryAfter: %d mails", n)
		}
		f.clock.Set(start.Add(reminders.RetryAfter + time.Minute))
		runAll(t, ja, jb, ja, jb)
		f.clock.Set(start.Add(3 * reminders.RetryAfter))
		runAll(t, ja, jb)
		if n := len(f.sink.To(t, email)); n != 1 {
			t.Fatalf("%d mails after the retry, want exactly 1", n)
		}
		if n := len(audits(t, a, key.ID, "key.expiring")); n != 1 {
			t.Fatalf("%d key.expiring events after the retry, want still 1", n)
		}
		f.clock.Set(start.Add(time.Hour))
	}
}

// TestReminders_MailOff_EventsStillRecorded: without SMTP the job records the events.
func TestReminders_MailOff_EventsStillRecorded(t *testing.T) {
	f := newFixture(t)
	s := open(t, t.TempDir()+"/keyward.db")
	start := f.clock.Now()
	key, _ := newKey(t, s, "owner-"+start.Format("150405.000000"), "nobody", start.Add(20*24*time.Hour))
	j := reminders.New(reminders.Config{Keys: keys.New(keys.Config{Store: s, Clock: f.clock.Now}), Store: s, Users: f.kc, Clock: f.clock.Now, Audit: audit.NewRecorder(s, zap.NewNop(), f.clock.Now)})
	for range 2 {
		if err := j.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	evs := audits(t, s, key.ID, "key.expiring")
	if len(evs) != 1 || !strings.Contains(evs[0].Details, `"days_left":20`) {
		t.Fatalf("key.expiring events %+v, want one with days_left 20", evs)
	}
}
