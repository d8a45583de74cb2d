package models_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// The store of the events follower and the reminder job, on both backends.
func TestStoreEvents(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *models.Store)
	}{
		{"EventCursor_SavedAndReadBack_Overwritten", testEventCursor},
		{"Lease_OneHolderUntilExpiry_ThenAnother", testLeaseHolders},
		{"Lease_Released_TakenAtOnce", testLeaseRelease},
		{"Lease_50RacersForAnExpiredLease_ExactlyOneWins", testLeaseRace},
		{"DeleteKeysOfOwner_AllLiveKeysOfThatOwnerOnly", testDeleteKeysOfOwner},
		{"SetOwnerDisabled_MarksAndClears_ReturnsChangedOnly", testSetOwnerDisabled},
		{"ListKeys_StatusOwnerDisabled", testListOwnerDisabled},
		{"ClaimReminder_OncePerKeyAndKind", testClaimReminderOnce},
		{"ClaimReminder_50Racers_ExactlyOneWins", testClaimReminderRace},
		{"KeysDue_WindowAndUnremindedOnly", testKeysDue},
		{"PendingReminders_RetryClaimedOnce_SentNotPending", testReminderRetry},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, s)
				})
			}
		})
	}
}

func testEventCursor(t *testing.T, s *models.Store) {
	ctx := context.Background()
	feed := "feed-" + uuid.NewString()
	if _, found, err := s.EventCursor(ctx, feed); err != nil || found {
		t.Fatalf("EventCursor of a new feed: found=%v err=%v", found, err)
	}
	want := models.Cursor{TimeMillis: 1796171536423, Handled: []string{"1796171536423:a", "1796171536420:b"}}
	if err := s.SaveEventCursor(ctx, feed, want); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.EventCursor(ctx, feed)
	if err != nil || !found || got.TimeMillis != want.TimeMillis || !slices.Equal(got.Handled, want.Handled) {
		t.Fatalf("EventCursor = %+v found=%v err=%v, want %+v", got, found, err, want)
	}
	next := models.Cursor{TimeMillis: want.TimeMillis + 10}
	if err := s.SaveEventCursor(ctx, feed, next); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.EventCursor(ctx, feed)
	if got.TimeMillis != next.TimeMillis || len(got.Handled) != 0 {
		t.Fatalf("after overwrite: %+v, want %+v", got, next)
	}
}

func testLeaseHolders(t *testing.T, s *models.Store) {
	ctx := context.Background()
	name := "lease-" + uuid.NewString()
	now := time.Now()
	ok, err := s.AcquireLease(ctx, name, "a", time.Minute, now)
	if err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	if ok, _ := s.AcquireLease(ctx, name, "b", time.Minute, now.Add(30*time.Second)); ok {
		t.Fatal("b took a lease a holds")
	}
	if ok, _ := s.AcquireLease(ctx, name, "a", time.Minute, now.Add(50*time.Second)); !ok {
		t.Fatal("a could not renew its own lease")
	}
	// a renewed until now+110s: b still has to wait.
	if ok, _ := s.AcquireLease(ctx, name, "b", time.Minute, now.Add(100*time.Second)); ok {
		t.Fatal("b took a renewed lease before it expired")
	}
	if ok, _ := s.AcquireLease(ctx, name, "b", time.Minute, now.Add(111*time.Second)); !ok {
		t.Fatal("b could not take an expired lease")
	}
	if ok, _ := s.AcquireLease(ctx, name, "a", time.Minute, now.Add(112*time.Second)); ok {
		t.Fatal("a took back the lease b now holds")
	}
}

func testLeaseRelease(t *testing.T, s *models.Store) {
	ctx := context.Background()
	name := "lease-" + uuid.NewString()
	now := time.Now()
	if ok, _ := s.AcquireLease(ctx, name, "a", time.Hour, now); !ok {
		t.Fatal("acquire")
	}
	if err := s.ReleaseLease(ctx, name, "b"); err != nil { // not b's: nothing happens
		t.Fatal(err)
	}
	if ok, _ := s.AcquireLease(ctx, name, "b", time.Hour, now); ok {
		t.Fatal("b released a's lease")
	}
	if err := s.ReleaseLease(ctx, name, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.AcquireLease(ctx, name, "b", time.Hour, now); !ok {
		t.Fatal("b could not take a released lease")
	}
}

func testLeaseRace(t *testing.T, s *models.Store) {
	ctx := context.Background()
	name := "lease-" + uuid.NewString()
	now := time.Now()
	if ok, _ := s.AcquireLease(ctx, name, "old", time.Second, now.Add(-time.Minute)); !ok {
		t.Fatal("acquire")
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AcquireLease(ctx, name, "racer-"+uuid.NewString()[:4]+string(rune('a'+i%26)), time.Minute, now)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d racers won the lease, want exactly 1", wins.Load())
	}
}

func testDeleteKeysOfOwner(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner, other := newOwner(), newOwner()
	a, b := mustCreate(t, s, newKey(owner)), mustCreate(t, s, newKey(owner))
	gone := mustCreate(t, s, newKey(owner))
	if err := s.DeleteKey(ctx, "", gone.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	kept := mustCreate(t, s, newKey(other))
	revoked, err := s.DeleteKeysOfOwner(ctx, owner, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range revoked {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("revoked %v, want the two live keys %v", ids, want)
	}
	for _, id := range want {
		if _, err := s.KeyByID(ctx, "", id); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("key %s still live: %v", id, err)
		}
	}
	if _, err := s.KeyByID(ctx, "", kept.ID); err != nil {
		t.Fatalf("another owner's key was touched: %v", err)
	}
	again, err := s.DeleteKeysOfOwner(ctx, owner, time.Now())
	if err != nil || len(again) != 0 {
		t.Fatalf("second revoke: %d keys, %v; want none", len(again), err)
	}
}

func testSetOwnerDisabled(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner, other := newOwner(), newOwner()
	a := mustCreate(t, s, newKey(owner))
	o := mustCreate(t, s, newKey(other))
	changed, err := s.SetOwnerDisabled(ctx, owner, true)
	if err != nil || len(changed) != 1 || changed[0].ID != a.ID || !changed[0].OwnerDisabled {
		t.Fatalf("disable: %+v %v", changed, err)
	}
	if k, _ := s.KeyByID(ctx, "", a.ID); !k.OwnerDisabled || !k.Enabled {
		t.Fatalf("stored: owner_disabled=%v enabled=%v, want true and the key's own state untouched", k.OwnerDisabled, k.Enabled)
	}
	if k, _ := s.KeyByID(ctx, "", o.ID); k.OwnerDisabled {
		t.Fatal("another owner's key was marked")
	}
	if again, _ := s.SetOwnerDisabled(ctx, owner, true); len(again) != 0 {
		t.Fatalf("marking again changed %d keys", len(again))
	}
	changed, err = s.SetOwnerDisabled(ctx, owner, false)
	if err != nil || len(changed) != 1 || changed[0].OwnerDisabled {
		t.Fatalf("enable: %+v %v", changed, err)
	}
	if k, _ := s.KeyByID(ctx, "", a.ID); k.OwnerDisabled {
		t.Fatal("mark not cleared")
	}
}

func testListOwnerDisabled(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	k := mustCreate(t, s, newKey(owner))
	if _, err := s.SetOwnerDisabled(ctx, owner, true); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[string]int{"owner_disabled": 1, "active": 0, "inactive": 0} {
		got, err := s.ListKeys(ctx, models.KeyFilter{OwnerID: owner, Status: status, Now: time.Now(), ExpiringSoon: 7 * 24 * time.Hour})
		if err != nil || len(got) != want {
			t.Fatalf("status %s: %d keys (%v), want %d", status, len(got), err, want)
		}
	}
	_, _ = s.SetOwnerDisabled(ctx, owner, false)
	got, _ := s.ListKeys(ctx, models.KeyFilter{OwnerID: owner, Status: "active", Now: time.Now(), ExpiringSoon: 7 * 24 * time.Hour})
	if len(got) != 1 || got[0].ID != k.ID {
		t.Fatalf("after enable, active = %d keys, want the key", len(got))
	}
}

func testClaimReminderOnce(t *testing.T, s *models.Store) {
	ctx := context.Background()
	id := uuid.NewString()
	for i, want := range []bool{true, false} {
		got, err := s.ClaimReminder(ctx, id, "7d", time.Now())
		if err != nil || got != want {
			t.Fatalf("claim %d: %v %v, want %v", i, got, err, want)
		}
	}
	if ok, _ := s.ClaimReminder(ctx, id, "1d", time.Now()); !ok {
		t.Fatal("another kind of the same key was refused")
	}
}

func testClaimReminderRace(t *testing.T, s *models.Store) {
	ctx := context.Background()
	id := uuid.NewString()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ClaimReminder(ctx, id, "30d", time.Now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won, want 1", wins.Load())
	}
}

func testKeysDue(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	now := time.Now().Add(1000 * 24 * time.Hour) // far from other tests' keys
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	in5 := newKey(owner)
	in5.ExpiresAt = at(5 * 24 * time.Hour)
	in9 := newKey(owner)
	in9.ExpiresAt = at(9 * 24 * time.Hour)
	disabled := newKey(owner)
	disabled.ExpiresAt, disabled.Enabled = at(2*24*time.Hour), false
	mustCreate(t, s, in5)
	mustCreate(t, s, in9)
	mustCreate(t, s, disabled)
	due := func() []string {
		keys, err := s.KeysDue(ctx, "7d", now, now.Add(7*24*time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range keys {
			if k.OwnerID == owner {
				ids = append(ids, k.ID)
			}
		}
		return ids
	}
	if got := due(); !slices.Equal(got, []string{in5.ID}) {
		t.Fatalf("due = %v, want only the enabled key within 7 days", got)
	}
	if _, err := s.ClaimReminder(ctx, in5.ID, "7d", now); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("due after the reminder = %v, want none", got)
	}
}

func testReminderRetry(t *testing.T, s *models.Store) {
	ctx := context.Background()
	id := uuid.NewString()
	now := time.Now().Add(-time.Hour)
	if ok, _ := s.ClaimReminder(ctx, id, "1d", now); !ok {
		t.Fatal("claim")
	}
	if err := s.ReminderFailed(ctx, id, "1d", "connection refused"); err != nil {
		t.Fatal(err)
	}
	pending := func() []models.KeyReminder {
		rows, err := s.PendingReminders(ctx, time.Now(), 5, 10000)
		if err != nil {
			t.Fatal(err)
		}
		var out []models.KeyReminder
		for _, r := range rows {
			if r.KeyID == id {
				out = append(out, r)
			}
		}
		return out
	}
	p := pending()
	if len(p) != 1 || p[0].Attempts != 1 || p[0].LastError != "connection refused" {
		t.Fatalf("pending = %+v", p)
	}
	if ok, _ := s.ClaimReminderRetry(ctx, p[0], time.Now()); !ok {
		t.Fatal("retry claim refused")
	}
	if ok, _ := s.ClaimReminderRetry(ctx, p[0], time.Now()); ok {
		t.Fatal("the same attempt was claimed twice")
	}
	if err := s.ReminderSent(ctx, id, "1d", time.Now()); err != nil {
		t.Fatal(err)
	}
	if p := pending(); len(p) != 0 {
		t.Fatalf("a sent reminder is pending: %+v", p)
	}
}
