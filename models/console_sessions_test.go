package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// The console's sessions, on every backend.
func TestConsoleSessions(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			t.Run("Create_ThenByHash_EveryField", func(t *testing.T) { testSessionRoundTrip(t, s) })
			t.Run("Update_TokensAndTimes_OnlyThose", func(t *testing.T) { testSessionUpdate(t, s) })
			t.Run("Delete_ThenNotFound_Twice_NoError", func(t *testing.T) { testSessionDelete(t, s) })
			t.Run("Create_SweepsSessionsPastTheirEnd", func(t *testing.T) { testSessionSweep(t, s) })
			t.Run("Create_SameHashTwice_AlreadyExists", func(t *testing.T) { testSessionDuplicate(t, s) })
			t.Run("ByHash_UnknownOrBadText_NotFound", func(t *testing.T) { testSessionUnknown(t, s) })
		})
	}
}

var sessionSeq int

func newSession(now time.Time) *models.ConsoleSession {
	sessionSeq++
	return &models.ConsoleSession{
		IDHash: fmt.Sprintf("%064x", time.Now().UnixNano()+int64(sessionSeq)), Subject: "user-1", Username: "alice",
		Tokens: []byte{1, 2, 3}, AccessExpiresAt: now.Add(5 * time.Minute), RefreshedAt: now, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(8 * time.Hour),
	}
}

func testSessionRoundTrip(t *testing.T, s *models.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	cs := newSession(now)
	cs.Pending, cs.LoginState = true, []byte("sealed")
	if err := s.CreateConsoleSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConsoleSessionByHash(ctx, cs.IDHash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Pending || got.Subject != "user-1" || got.Username != "alice" || !bytes.Equal(got.Tokens, []byte{1, 2, 3}) ||
		!bytes.Equal(got.LoginState, []byte("sealed")) || !got.ExpiresAt.Equal(cs.ExpiresAt) || !got.LastSeenAt.Equal(now) ||
		!got.AccessExpiresAt.Equal(cs.AccessExpiresAt) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("round trip: %+v", got)
	}
}

func testSessionUpdate(t *testing.T, s *models.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	cs := newSession(now)
	if err := s.CreateConsoleSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	upd := *cs
	upd.Tokens, upd.LastSeenAt, upd.RefreshedAt, upd.AccessExpiresAt = []byte{9}, later, later, later.Add(time.Minute)
	upd.Subject, upd.ExpiresAt = "someone-else", now.Add(100*time.Hour) // not updatable
	if err := s.UpdateConsoleSession(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ConsoleSessionByHash(ctx, cs.IDHash)
	if !bytes.Equal(got.Tokens, []byte{9}) || !got.LastSeenAt.Equal(later) || !got.RefreshedAt.Equal(later) ||
		got.Subject != "user-1" || !got.ExpiresAt.Equal(cs.ExpiresAt) {
		t.Fatalf("after update: %+v", got)
	}
	gone := newSession(now)
	if err := s.UpdateConsoleSession(ctx, gone); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("update of an unknown session: %v", err)
	}
}

func testSessionDelete(t *testing.T, s *models.Store) {
	ctx := context.Background()
	cs := newSession(time.Now())
	if err := s.CreateConsoleSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := s.DeleteConsoleSession(ctx, cs.IDHash); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ConsoleSessionByHash(ctx, cs.IDHash); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
}

func testSessionSweep(t *testing.T, s *models.Store) {
	ctx := context.Background()
	old := newSession(time.Now().Add(-10 * time.Hour))
	if err := s.CreateConsoleSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	live := newSession(time.Now())
	if err := s.CreateConsoleSession(ctx, live); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsoleSessionByHash(ctx, old.IDHash); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a session past its end survived the next create: %v", err)
	}
	if _, err := s.ConsoleSessionByHash(ctx, live.IDHash); err != nil {
		t.Fatal(err)
	}
}

func testSessionDuplicate(t *testing.T, s *models.Store) {
	ctx := context.Background()
	cs := newSession(time.Now())
	if err := s.CreateConsoleSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	again := *cs
	if err := s.CreateConsoleSession(ctx, &again); !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("second create of one hash: %v", err)
	}
}

func testSessionUnknown(t *testing.T, s *models.Store) {
	for _, h := range []string{"", "0000", "bad\x00text", string([]byte{0xff, 0xfe})} {
		if _, err := s.ConsoleSessionByHash(context.Background(), h); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%q: %v", h, err)
		}
	}
}
