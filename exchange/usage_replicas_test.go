package exchange_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
)

// Three replicas' usage recorders on one PostgreSQL database, flushing while they
// record and then stopped gracefully: the counts add up exactly and the last use is
// the latest of all.
func TestUsage_ThreeReplicas_CountsAddUp_GracefulStopFlushes(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var stores []*models.Store
	for range 3 {
		s, err := models.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	k := &models.Key{OwnerID: "o1", OwnerUsername: "alice", Name: "n", LookupID: "lk_usage_1",
		SecretHash: make([]byte, 32), Environment: "production", Enabled: true}
	if err := stores[0].CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	const perReplica = 700
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	latest := base.Add(time.Duration(2*perReplica+perReplica-1) * time.Millisecond)
	var wg sync.WaitGroup
	for i, s := range stores {
		u := exchange.NewUsage(s, zap.NewNop(), 5*time.Millisecond) // many flushes meanwhile
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { u.Run(runCtx); close(done) }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perReplica {
				at := base.Add(time.Duration(i*perReplica+n) * time.Millisecond)
				u.Record(k.ID, exchange.OutcomeIssued, exchange.ViaToken, "192.0.2.1", at)
				if n%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			stop() // a graceful stop: Run flushes what is left
			<-done
		}()
	}
	wg.Wait()
	got, err := stores[1].UsageByKey(ctx, k.ID, "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Count != 3*perReplica {
		t.Fatalf("usage %+v, want one counter of %d", got, 3*perReplica)
	}
	stored, err := stores[2].KeyByID(ctx, "", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(latest) {
		t.Fatalf("last used %v, want the latest use %v", stored.LastUsedAt, latest)
	}
}
