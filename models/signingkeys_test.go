package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestSigningKeysAndFingerprints(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Microsecond)

			t.Run("AddSigningKey_ConcurrentSchedules_OneWins", func(t *testing.T) {
				if added, err := s.AddSigningKey(ctx, models.SigningKey{KID: "first", Sealed: []byte{1}, CreatedAt: now, ActiveFrom: now}, time.Time{}); err != nil || !added {
					t.Fatalf("first key: %v %v", added, err)
				}
				if added, _ := s.AddSigningKey(ctx, models.SigningKey{KID: "again", Sealed: []byte{1}, CreatedAt: now, ActiveFrom: now}, time.Time{}); added {
					t.Fatal("a first key added to a store that has one")
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				wins := 0
				for i := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						k := models.SigningKey{KID: "next-" + string(rune('a'+i)), Sealed: []byte{2}, CreatedAt: now, ActiveFrom: now.Add(time.Hour)}
						added, err := s.AddSigningKey(ctx, k, now)
						if err != nil {
							t.Error(err)
						}
						if added {
							mu.Lock()
							wins++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				keys, err := s.SigningKeys(ctx)
				if err != nil || wins != 1 || len(keys) != 2 || keys[0].KID != "first" {
					t.Fatalf("wins %d, keys %+v, %v", wins, keys, err)
				}
				if err := s.ActivateSigningKeyBy(ctx, keys[1].KID, now.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				if err := s.ActivateSigningKeyBy(ctx, keys[1].KID, now.Add(2*time.Hour)); err != nil { // never later
					t.Fatal(err)
				}
				keys, _ = s.SigningKeys(ctx)
				if !keys[1].ActiveFrom.Equal(now.Add(time.Minute)) {
					t.Fatalf("active from %v, want %v", keys[1].ActiveFrom, now.Add(time.Minute))
				}
				if err := s.ActivateSigningKeyBy(ctx, "nope", now); !errors.Is(err, models.ErrNotFound) {
					t.Fatalf("unknown kid: %v", err)
				}
			})

			t.Run("ClaimFingerprint_FirstSets_OtherRefused", func(t *testing.T) {
				if err := s.ClaimFingerprint(ctx, models.PepperFingerprint, []byte("fp-1")); err != nil {
					t.Fatal(err)
				}
				if err := s.ClaimFingerprint(ctx, models.PepperFingerprint, []byte("fp-1")); err != nil {
					t.Fatalf("the same fingerprint again: %v", err)
				}
				if err := s.ClaimFingerprint(ctx, models.PepperFingerprint, []byte("fp-2")); !errors.Is(err, models.ErrFingerprintMismatch) {
					t.Fatalf("another fingerprint: %v", err)
				}
			})
		})
	}
}
