package models_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

func TestStoreUsage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			ctx := context.Background()
			k := mustCreate(t, s, newKey("usage-owner-"+uuid.NewString()))

			t.Run("RecordUsage_AddsCountsAcrossBatches", func(t *testing.T) {
				batch := models.UsageBatch{Counts: map[models.UsageKey]int64{
					{k.ID, "2026-11-22", "issued", "token"}:       3,
					{k.ID, "2026-11-23", "issued", "token"}:       2,
					{k.ID, "2026-11-23", "rate_limited", "token"}: 1,
				}}
				for i := 0; i < 2; i++ {
					if err := s.RecordUsage(ctx, batch); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.UsageByKey(ctx, k.ID, "2026-11-23")
				if err != nil {
					t.Fatal(err)
				}
				want := []models.UsageCount{{k.ID, "2026-11-23", "issued", "token", 4}, {k.ID, "2026-11-23", "rate_limited", "token", 2}}
				if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("usage %+v, want %+v", got, want)
				}
			})

			t.Run("RecordUsage_ConcurrentFlushes_NoCountLost", func(t *testing.T) {
				other := mustCreate(t, s, newKey("usage-owner-"+uuid.NewString()))
				var wg sync.WaitGroup
				for i := 0; i < 10; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						err := s.RecordUsage(ctx, models.UsageBatch{Counts: map[models.UsageKey]int64{{other.ID, "2026-11-23", "issued", "token"}: 5}})
						if err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
				got, _ := s.UsageByKey(ctx, other.ID, "2026-01-01")
				if len(got) != 1 || got[0].Count != 50 {
					t.Fatalf("usage %+v, want one counter of 50", got)
				}
			})

			t.Run("RecordUsage_ByVia_CountedApart", func(t *testing.T) {
				k := mustCreate(t, s, newKey("usage-owner-"+uuid.NewString()))
				batch := models.UsageBatch{Counts: map[models.UsageKey]int64{
					{k.ID, "2026-11-23", "issued", "token"}:           2,
					{k.ID, "2026-11-23", "issued", "forward_auth"}:    3,
					{k.ID, "2026-11-23", "ip_denied", "forward_auth"}: 1,
				}}
				for i := 0; i < 2; i++ {
					if err := s.RecordUsage(ctx, batch); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.UsageByKey(ctx, k.ID, "2026-11-23")
				if err != nil {
					t.Fatal(err)
				}
				want := []models.UsageCount{
					{k.ID, "2026-11-23", "ip_denied", "forward_auth", 2},
					{k.ID, "2026-11-23", "issued", "forward_auth", 6},
					{k.ID, "2026-11-23", "issued", "token", 4},
				}
				if !slices.Equal(got, want) {
					t.Fatalf("usage %+v, want %+v", got, want)
				}
			})

			t.Run("RecordUsage_NoVia_CountsAsToken", func(t *testing.T) {
				k := mustCreate(t, s, newKey("usage-owner-"+uuid.NewString()))
				err := s.RecordUsage(ctx, models.UsageBatch{Counts: map[models.UsageKey]int64{
					{k.ID, "2026-11-23", "issued", ""}:      2,
					{k.ID, "2026-11-23", "issued", "token"}: 5,
				}})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := s.UsageByKey(ctx, k.ID, "2026-01-01")
				if want := []models.UsageCount{{k.ID, "2026-11-23", "issued", "token", 7}}; !slices.Equal(got, want) {
					t.Fatalf("usage %+v, want %+v", got, want)
				}
			})

			t.Run("RecordUsage_ByVia_ConcurrentFlushesAndRetries_Exact", func(t *testing.T) {
				k := mustCreate(t, s, newKey("usage-owner-"+uuid.NewString()))
				var wg sync.WaitGroup
				for i := 0; i < 10; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Each batch is recorded twice under its ID, as a retried flush is.
						b := models.UsageBatch{ID: uuid.NewString(), Counts: map[models.UsageKey]int64{
							{k.ID, "2026-11-23", "issued", "token"}:        1,
							{k.ID, "2026-11-23", "issued", "forward_auth"}: 4,
						}}
						for range 2 {
							if err := s.RecordUsage(ctx, b); err != nil {
								t.Error(err)
							}
						}
					}()
				}
				wg.Wait()
				got, _ := s.UsageByKey(ctx, k.ID, "2026-01-01")
				want := []models.UsageCount{{k.ID, "2026-11-23", "issued", "forward_auth", 40}, {k.ID, "2026-11-23", "issued", "token", 10}}
				if !slices.Equal(got, want) {
					t.Fatalf("usage %+v, want %+v", got, want)
				}
			})

			t.Run("RecordUsage_LastUsedMovesForwardWithIP", func(t *testing.T) {
				t1 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
				use := func(at time.Time, ip string) {
					if err := s.RecordUsage(ctx, models.UsageBatch{LastUsed: map[string]models.KeyUse{k.ID: {At: at, IP: ip}}}); err != nil {
						t.Fatal(err)
					}
				}
				use(t1, "192.0.2.1")
				use(t1.Add(-time.Hour), "192.0.2.9") // older: ignored
				got, err := s.KeyByID(ctx, "", k.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.LastUsedAt == nil || !got.LastUsedAt.Equal(t1) || got.LastUsedIP != "192.0.2.1" {
					t.Fatalf("last used %v from %q", got.LastUsedAt, got.LastUsedIP)
				}
			})

			t.Run("UsageByKey_UnknownOrHostileID_Empty", func(t *testing.T) {
				for _, id := range []string{uuid.NewString(), "'; DROP TABLE key_usage; --"} {
					got, err := s.UsageByKey(ctx, id, "2000-01-01")
					if err != nil || len(got) != 0 {
						t.Fatalf("%q: %v %v", id, got, err)
					}
				}
			})
		})
	}
}
