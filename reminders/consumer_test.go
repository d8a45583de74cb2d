package reminders_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/reminders"
)

type contacts map[string]string

func (c contacts) ConsumerContact(_ context.Context, id string) (string, error) {
	to, ok := c[id]
	if !ok {
		return "", models.ErrNotFound
	}
	return to, nil
}

// A consumer's key is reminded at its consumer's contact address (never looked up in
// Keycloak as a user); a consumer without one gets the key.expiring event alone.
func TestReminders_ConsumerKey_MailedToTheConsumersContact(t *testing.T) {
	f := newFixture(t)
	s := open(t, t.TempDir()+"/keyward.db")
	start := f.clock.Now()
	stamp := start.Format("150405.000000")
	email := "team-" + stamp + "@shop.example.test"
	withContact := &models.Consumer{Name: "shop-" + strings.ReplaceAll(stamp, ".", "-"), Environment: "production"}
	without := &models.Consumer{Name: "quiet-" + strings.ReplaceAll(stamp, ".", "-"), Environment: "production"}
	for _, c := range []*models.Consumer{withContact, without} {
		if err := s.CreateConsumer(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	consumerKey := func(c *models.Consumer) models.Key {
		k, _ := newKey(t, s, models.ConsumerOwnerID(c.ID), c.Name, start.Add(20*24*time.Hour), func(k *models.Key) {
			k.OwnerType, k.ConsumerID = models.OwnerConsumer, c.ID
		})
		return k
	}
	mailed, quiet := consumerKey(withContact), consumerKey(without)
	j := reminders.New(reminders.Config{Keys: keys.New(keys.Config{Store: s, Clock: f.clock.Now}), Store: s, Users: f.kc,
		Consumers: contacts{withContact.ID: email, without.ID: ""}, Mail: f.mail, Clock: f.clock.Now,
		Audit: audit.NewRecorder(s, zap.NewNop(), f.clock.Now), PublicURL: publicURL})
	if err := j.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.sink.To(t, email); len(got) != 1 {
		t.Fatalf("mails to the consumer's contact: %d", len(got))
	}
	for _, k := range []models.Key{mailed, quiet} {
		if evs := audits(t, s, k.ID, "key.expiring"); len(evs) != 1 {
			t.Fatalf("key.expiring events of %s: %d", k.OwnerUsername, len(evs))
		}
	}
}
