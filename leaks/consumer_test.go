package leaks_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/leaks"
	"github.com/keyward/keyward/mail"
	"github.com/keyward/keyward/models"
)

type sent struct {
	mu  sync.Mutex
	msg []mail.Message
}

func (s *sent) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msg = append(s.msg, m)
	return nil
}

type contact string

func (c contact) ConsumerContact(context.Context, string) (string, error) { return string(c), nil }

// A consumer key reported leaked is revoked, and the notice goes to the consumer's
// contact address.
func TestLeak_ConsumerKey_NoticeToTheConsumersContact(t *testing.T) {
	ctx := context.Background()
	s, err := models.Open(ctx, filepath.Join(t.TempDir(), "k.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h, _ := exchange.NewHasher([]byte(strings.Repeat("p", 32)))
	cons := &models.Consumer{Name: "shop", Environment: "production"}
	if err := s.CreateConsumer(ctx, cons); err != nil {
		t.Fatal(err)
	}
	parsed, _ := exchange.GenerateKey(exchange.EnvLive)
	k := models.Key{OwnerID: models.ConsumerOwnerID(cons.ID), OwnerType: models.OwnerConsumer, ConsumerID: cons.ID,
		OwnerUsername: "shop", Name: "orders", LookupID: parsed.LookupID, SecretHash: h.Hash(parsed.Secret),
		Environment: "production", Enabled: true}
	if err := s.CreateKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	out := &sent{}
	svc := leaks.New(leaks.Config{Store: s, Hasher: h, Consumers: contact("team@shop.example"), Mail: out,
		Audit: audit.NewRecorder(s, zap.NewNop(), time.Now), Log: zap.NewNop()})
	verdicts, err := svc.Handle(ctx, audit.Actor{ID: "scanner", Name: "scanner"}, leaks.Admission{}, []leaks.Report{{Token: parsed.String(), URL: "https://example.org/x"}})
	if err != nil || len(verdicts) != 1 {
		t.Fatalf("verdicts %+v %v", verdicts, err)
	}
	if _, err := s.KeyByID(ctx, "", k.ID); err == nil {
		t.Fatal("the leaked consumer key is still live")
	}
	if len(out.msg) != 1 || out.msg[0].To != "team@shop.example" {
		t.Fatalf("mails %+v", out.msg)
	}
}
