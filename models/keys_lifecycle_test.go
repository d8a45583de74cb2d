package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// The key lifecycle part of the conformance suite: metadata, name uniqueness,
// UpdateKey, RotateKey and admin (owner "") access. Registered in storeTests.

func ptr[T any](v T) *T { return &v }

// keyAndNamesake creates a key of a new owner and returns it with another key, not
// created, of the same owner and name.
func keyAndNamesake(t *testing.T, s *models.Store) (created, namesake *models.Key) {
	t.Helper()
	created = mustCreate(t, s, newKey(newOwner()))
	namesake = newKey(created.OwnerID)
	namesake.Name = created.Name
	return created, namesake
}

// manyConns is held by the tests that open many connections at once, so that even
// with many parallel tests they stay well below PostgreSQL's default
// max_connections (100).
var manyConns sync.Mutex

// at is a fixed clock reading, at the microsecond the store keeps.
var at = time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC)

func mustKey(t *testing.T, s *models.Store, owner, id string) models.Key {
	t.Helper()
	k, err := s.KeyByID(context.Background(), owner, id)
	if err != nil {
		t.Fatalf("KeyByID(%s): %v", id, err)
	}
	return k
}

// ownerKeys counts the live keys of owner.
func ownerKeys(t *testing.T, s *models.Store, owner string) int {
	t.Helper()
	keys, err := s.ListKeys(context.Background(), models.KeyFilter{OwnerID: owner, Limit: 100})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	return len(keys)
}

func testMetadataDefault(t *testing.T, s *models.Store) {
	empty := mustCreate(t, s, newKey(newOwner()))
	if empty.Metadata != "{}" {
		t.Errorf("CreateKey left Metadata %q, want {}", empty.Metadata)
	}
	if got := mustKey(t, s, empty.OwnerID, empty.ID); got.Metadata != "{}" {
		t.Errorf("stored Metadata = %q, want {}", got.Metadata)
	}

	k := newKey(newOwner())
	k.Metadata = `{"team": "ops", "n": 1, "nested": {"a": [1, 2]}}`
	mustCreate(t, s, k)
	if got := mustKey(t, s, k.OwnerID, k.ID); got.Metadata != k.Metadata {
		t.Errorf("Metadata = %q, want %q as given", got.Metadata, k.Metadata)
	}
}

func testMetadataNotObject(t *testing.T, s *models.Store) {
	for _, md := range []string{"null", "[]", `"{}"`, "1", "{", `{"a":}`, "x", `{"a":1} {}`, "{\x00}"} {
		k := newKey(newOwner())
		k.Metadata = md
		err := s.CreateKey(context.Background(), k)
		if err == nil || errors.Is(err, models.ErrAlreadyExists) {
			t.Errorf("CreateKey with metadata %q = %v, want a validation error", md, err)
		}
	}
}

func testDuplicateLiveName(t *testing.T, s *models.Store) {
	ctx := context.Background()
	first, dup := keyAndNamesake(t, s)
	wantErr(t, "CreateKey(same owner, same name)", s.CreateKey(ctx, dup), models.ErrAlreadyExists)
	if n := ownerKeys(t, s, first.OwnerID); n != 1 {
		t.Fatalf("owner has %d keys after the refused duplicate, want 1", n)
	}

	// Names are exact: another spelling is another name.
	upper := newKey(first.OwnerID)
	upper.Name = strings.ToUpper(first.Name)
	mustCreate(t, s, upper)

	other := newKey(newOwner())
	other.Name = first.Name
	mustCreate(t, s, other)
}

func testNameFreeAfterDelete(t *testing.T, s *models.Store) {
	ctx := context.Background()
	first := mustCreate(t, s, newKey(newOwner()))
	if err := s.DeleteKey(ctx, first.OwnerID, first.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	again := newKey(first.OwnerID)
	again.Name = first.Name
	mustCreate(t, s, again)
	// Two deleted keys of one name are fine too.
	if err := s.DeleteKey(ctx, again.OwnerID, again.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	third := newKey(first.OwnerID)
	third.Name = first.Name
	mustCreate(t, s, third)
}

func testNameFreeAfterRotation(t *testing.T, s *models.Store) {
	ctx := context.Background()
	old, next := keyAndNamesake(t, s) // the successor takes the name at once
	if _, err := s.RotateKey(ctx, old.OwnerID, old.ID, next, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	// The successor is live and not superseded: it holds the name now.
	dup := newKey(old.OwnerID)
	dup.Name = old.Name
	wantErr(t, "CreateKey(name of the successor)", s.CreateKey(ctx, dup), models.ErrAlreadyExists)

	// Renaming the successor frees the name; the superseded key does not hold it.
	if _, err := s.UpdateKey(ctx, old.OwnerID, next.ID, func(k *models.Key) error {
		k.Name += "-renamed"
		return nil
	}); err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	mustCreate(t, s, dup)
}

func testConcurrentSameName(t *testing.T, s *models.Store) {
	manyConns.Lock()
	defer manyConns.Unlock()
	owner := newOwner()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := newKey(owner)
			k.Name = "same"
			errs[i] = s.CreateKey(context.Background(), k)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, models.ErrAlreadyExists):
			t.Errorf("CreateKey: %v, want nil or ErrAlreadyExists", err)
		}
	}
	if won != 1 || ownerKeys(t, s, owner) != 1 {
		t.Fatalf("%d creates succeeded, owner has %d keys; want exactly 1", won, ownerKeys(t, s, owner))
	}
}

func testKeyByIDAnyOwner(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	equalKeys(t, mustKey(t, s, "", k.ID), *k)
	_, err := s.KeyByID(context.Background(), "", uuid.NewString())
	wantErr(t, "KeyByID(any owner, unknown id)", err, models.ErrNotFound)
	for _, id := range badIDs {
		_, err := s.KeyByID(context.Background(), "", id)
		wantErr(t, "KeyByID(any owner, "+short(id)+")", err, models.ErrNotFound)
	}
}

func testDeleteAnyOwner(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := mustCreate(t, s, newKey(newOwner()))
	if err := s.DeleteKey(ctx, "", k.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey(any owner): %v", err)
	}
	_, err := s.KeyByID(ctx, "", k.ID)
	wantErr(t, "KeyByID after delete", err, models.ErrNotFound)
	wantErr(t, "DeleteKey again", s.DeleteKey(ctx, "", k.ID, time.Now()), models.ErrNotFound)
}

func testUpdateSaves(t *testing.T, s *models.Store) {
	ctx := context.Background()
	orig := newKey(newOwner())
	orig.CreatedAt = time.Now().Add(-time.Hour)
	mustCreate(t, s, orig)
	exp := at.Add(time.Second)

	before := time.Now().Add(-time.Second)
	got, err := s.UpdateKey(ctx, orig.OwnerID, orig.ID, func(k *models.Key) error {
		equalKeys(t, *k, *orig) // fn sees the stored row
		k.Name, k.Description, k.Scopes, k.Environment = "renamed", "new text", "read", "staging"
		k.Enabled, k.ExpiresAt, k.Metadata = false, &exp, `{"note":"x"}`
		// Identity: overwritten by the store.
		k.ID, k.OwnerID, k.LookupID = uuid.NewString(), newOwner(), "lk_other"
		k.SecretHash[0] ^= 0xff
		k.CreatedAt = time.Now().Add(24 * time.Hour)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	want := *orig
	want.Name, want.Description, want.Scopes, want.Environment = "renamed", "new text", "read", "staging"
	want.Enabled, want.ExpiresAt, want.Metadata = false, &exp, `{"note":"x"}`
	if got.UpdatedAt.Before(before) || !got.UpdatedAt.After(orig.UpdatedAt) {
		t.Errorf("UpdatedAt = %v, want now (was %v)", got.UpdatedAt, orig.UpdatedAt)
	}
	want.UpdatedAt = got.UpdatedAt
	equalKeys(t, got, want)
	equalKeys(t, mustKey(t, s, orig.OwnerID, orig.ID), want)
	if _, err := s.KeyForExchange(ctx, orig.LookupID); err != nil {
		t.Fatalf("lookup id changed: %v", err)
	}
}

func testUpdateClearsTimes(t *testing.T, s *models.Store) {
	k := newKey(newOwner())
	k.ExpiresAt, k.LastUsedAt = ptr(at), ptr(at)
	mustCreate(t, s, k)
	got, err := s.UpdateKey(context.Background(), k.OwnerID, k.ID, func(k *models.Key) error {
		k.ExpiresAt, k.Metadata = nil, "" // "" stores as {}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	stored := mustKey(t, s, k.OwnerID, k.ID)
	equalKeys(t, stored, got)
	if stored.ExpiresAt != nil || stored.LastUsedAt == nil || stored.Metadata != "{}" {
		t.Fatalf("stored ExpiresAt %v, LastUsedAt %v, Metadata %q; want nil, kept, {}",
			stored.ExpiresAt, stored.LastUsedAt, stored.Metadata)
	}
}

func testUpdateFnError(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	refused := errors.New("refused by fn")
	_, err := s.UpdateKey(context.Background(), k.OwnerID, k.ID, func(k *models.Key) error {
		k.Name = "changed"
		return refused
	})
	wantErr(t, "UpdateKey", err, refused)
	equalKeys(t, mustKey(t, s, k.OwnerID, k.ID), *k)
}

func testUpdateNameTaken(t *testing.T, s *models.Store) {
	owner := newOwner()
	a, b := mustCreate(t, s, newKey(owner)), mustCreate(t, s, newKey(owner))
	_, err := s.UpdateKey(context.Background(), owner, b.ID, func(k *models.Key) error {
		k.Name, k.Description = a.Name, "changed"
		return nil
	})
	wantErr(t, "UpdateKey(name of a live key)", err, models.ErrAlreadyExists)
	equalKeys(t, mustKey(t, s, owner, b.ID), *b)

	// Keeping its own name is no conflict.
	if _, err := s.UpdateKey(context.Background(), owner, b.ID, func(k *models.Key) error {
		k.Description = "changed"
		return nil
	}); err != nil {
		t.Fatalf("UpdateKey(own name): %v", err)
	}
}

func testUpdateInvalid(t *testing.T, s *models.Store) {
	for name, mutate := range map[string]func(k *models.Key){
		"metadata not an object": func(k *models.Key) { k.Metadata = "[1]" },
		"NUL in name":            func(k *models.Key) { k.Name = "a\x00" },
		"invalid UTF-8 scopes":   func(k *models.Key) { k.Scopes = "\xff" },
		"rotated to not a UUID":  func(k *models.Key) { k.RotatedTo = ptr("x") },
	} {
		t.Run(name, func(t *testing.T) {
			k := mustCreate(t, s, newKey(newOwner()))
			_, err := s.UpdateKey(context.Background(), k.OwnerID, k.ID, func(k *models.Key) error {
				mutate(k)
				return nil
			})
			if err == nil || errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrAlreadyExists) {
				t.Fatalf("UpdateKey = %v, want a validation error", err)
			}
			equalKeys(t, mustKey(t, s, k.OwnerID, k.ID), *k)
		})
	}
}

func testUpdateNotFound(t *testing.T, s *models.Store) {
	ctx := context.Background()
	k := mustCreate(t, s, newKey(newOwner()))
	gone := mustCreate(t, s, newKey(k.OwnerID))
	if err := s.DeleteKey(ctx, gone.OwnerID, gone.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	called := false
	fn := func(k *models.Key) error { called = true; k.Name = "x"; return nil }
	cases := map[string]struct{ owner, id string }{
		"other owner":        {newOwner(), k.ID},
		"deleted":            {gone.OwnerID, gone.ID},
		"deleted, any owner": {"", gone.ID},
		"unknown":            {k.OwnerID, uuid.NewString()},
	}
	for _, id := range badIDs {
		cases["bad id "+short(id)] = struct{ owner, id string }{"", id}
	}
	for name, c := range cases {
		_, err := s.UpdateKey(ctx, c.owner, c.id, fn)
		wantErr(t, "UpdateKey("+name+")", err, models.ErrNotFound)
	}
	if called {
		t.Fatal("fn ran for a key it may not see")
	}
	equalKeys(t, mustKey(t, s, k.OwnerID, k.ID), *k)
}

func testUpdateAnyOwner(t *testing.T, s *models.Store) {
	k := mustCreate(t, s, newKey(newOwner()))
	got, err := s.UpdateKey(context.Background(), "", k.ID, func(k *models.Key) error {
		k.Enabled = false
		return nil
	})
	if err != nil || got.Enabled || got.OwnerID != k.OwnerID {
		t.Fatalf("UpdateKey(any owner) = enabled %v, owner %q, %v; want disabled, owner kept",
			got.Enabled, got.OwnerID, err)
	}
}

func testUpdateNoLostUpdate(t *testing.T, s *models.Store) {
	manyConns.Lock()
	defer manyConns.Unlock()
	k := mustCreate(t, s, newKey(newOwner()))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateKey(context.Background(), k.OwnerID, k.ID, func(k *models.Key) error {
				var md struct{ N int }
				if err := json.Unmarshal([]byte(k.Metadata), &md); err != nil {
					return err
				}
				k.Metadata = fmt.Sprintf(`{"N":%d}`, md.N+1)
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
	}
	if got := mustKey(t, s, k.OwnerID, k.ID).Metadata; got != fmt.Sprintf(`{"N":%d}`, n) {
		t.Fatalf("after %d concurrent increments Metadata = %s", n, got)
	}
}

func testRotate(t *testing.T, s *models.Store) {
	ctx := context.Background()
	old, next := keyAndNamesake(t, s)
	grace := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)

	got, err := s.RotateKey(ctx, old.OwnerID, old.ID, next, grace)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if next.ID == "" || next.ID == old.ID || next.Metadata != "{}" || next.CreatedAt.IsZero() {
		t.Fatalf("new key not prepared as CreateKey does: id %q, metadata %q, created %v",
			next.ID, next.Metadata, next.CreatedAt)
	}
	want := *old
	want.RotatedTo, want.GraceUntil, want.ExpiresAt = &next.ID, &grace, &grace
	want.UpdatedAt = next.CreatedAt
	equalKeys(t, got, want)
	equalKeys(t, mustKey(t, s, old.OwnerID, old.ID), want)
	equalKeys(t, mustKey(t, s, old.OwnerID, next.ID), *next)
	// During its grace the old key still answers to its lookup id.
	if k, err := s.KeyForExchange(ctx, old.LookupID); err != nil || k.ID != old.ID {
		t.Fatalf("KeyForExchange(old) = %q, %v; want the superseded key %q", k.ID, err, old.ID)
	}
}

func testRotateGraceCapsExpiry(t *testing.T, s *models.Store) {
	grace := at
	for name, c := range map[string]struct{ expires, want *time.Time }{
		"never expires":        {nil, ptr(grace)},
		"expires after grace":  {ptr(grace.Add(time.Microsecond)), ptr(grace)},
		"expires at grace end": {ptr(grace), ptr(grace)},
		"expires before grace": {ptr(grace.Add(-time.Microsecond)), ptr(grace.Add(-time.Microsecond))},
		"expired long ago":     {ptr(grace.Add(-365 * 24 * time.Hour)), ptr(grace.Add(-365 * 24 * time.Hour))},
	} {
		t.Run(name, func(t *testing.T) {
			old := newKey(newOwner())
			old.ExpiresAt = c.expires
			mustCreate(t, s, old)
			got, err := s.RotateKey(context.Background(), old.OwnerID, old.ID, newKey(old.OwnerID), grace)
			if err != nil {
				t.Fatalf("RotateKey: %v", err)
			}
			stored := mustKey(t, s, old.OwnerID, old.ID)
			for _, k := range []models.Key{got, stored} {
				if k.ExpiresAt == nil || !k.ExpiresAt.Equal(*c.want) || k.GraceUntil == nil || !k.GraceUntil.Equal(grace) {
					t.Fatalf("ExpiresAt %v, GraceUntil %v; want %v, %v", k.ExpiresAt, k.GraceUntil, *c.want, grace)
				}
			}
		})
	}
}

func testRotateTwice(t *testing.T, s *models.Store) {
	ctx := context.Background()
	old := mustCreate(t, s, newKey(newOwner()))
	first := newKey(old.OwnerID)
	if _, err := s.RotateKey(ctx, old.OwnerID, old.ID, first, at); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	before := mustKey(t, s, old.OwnerID, old.ID)
	second := newKey(old.OwnerID)
	_, err := s.RotateKey(ctx, old.OwnerID, old.ID, second, at.Add(time.Hour))
	wantErr(t, "second RotateKey", err, models.ErrConflict)
	_, err = s.RotateKey(ctx, "", old.ID, newKey(old.OwnerID), at)
	wantErr(t, "RotateKey(any owner) of a superseded key", err, models.ErrConflict)
	equalKeys(t, mustKey(t, s, old.OwnerID, old.ID), before)
	_, err = s.KeyForExchange(ctx, second.LookupID)
	wantErr(t, "the refused successor", err, models.ErrNotFound)

	// The successor itself may be rotated in turn.
	if _, err := s.RotateKey(ctx, old.OwnerID, first.ID, newKey(old.OwnerID), at); err != nil {
		t.Fatalf("RotateKey(successor): %v", err)
	}
}

func testRotateNotFound(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	k := mustCreate(t, s, newKey(owner))
	gone := mustCreate(t, s, newKey(owner))
	if err := s.DeleteKey(ctx, owner, gone.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	cases := map[string]struct{ owner, id string }{
		"other owner":        {newOwner(), k.ID},
		"deleted":            {owner, gone.ID},
		"deleted, any owner": {"", gone.ID},
		"unknown":            {owner, uuid.NewString()},
	}
	for _, id := range badIDs {
		cases["bad id "+short(id)] = struct{ owner, id string }{"", id}
	}
	for name, c := range cases {
		next := newKey(c.owner)
		_, err := s.RotateKey(ctx, c.owner, c.id, next, at)
		wantErr(t, "RotateKey("+name+")", err, models.ErrNotFound)
		if _, err := s.KeyForExchange(ctx, next.LookupID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("RotateKey(%s) inserted the new key: %v", name, err)
		}
	}
	equalKeys(t, mustKey(t, s, owner, k.ID), *k)
	if n := ownerKeys(t, s, owner); n != 1 {
		t.Fatalf("owner has %d live keys, want 1", n)
	}
}

func testRotateAnyOwner(t *testing.T, s *models.Store) {
	old := mustCreate(t, s, newKey(newOwner()))
	next := newKey("")
	if _, err := s.RotateKey(context.Background(), "", old.ID, next, at); err != nil {
		t.Fatalf("RotateKey(any owner): %v", err)
	}
	if got := mustKey(t, s, old.OwnerID, next.ID); got.OwnerID != old.OwnerID {
		t.Fatalf("new key's owner = %q, want the old key's %q", got.OwnerID, old.OwnerID)
	}
}

func testRotateNewKeyRefused(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	other := mustCreate(t, s, newKey(owner))
	for name, c := range map[string]struct {
		mutate func(k *models.Key)
		want   error // nil: any error but the sentinels
	}{
		"lookup id taken":     {func(k *models.Key) { k.LookupID = other.LookupID }, models.ErrAlreadyExists},
		"name of another key": {func(k *models.Key) { k.Name = other.Name }, models.ErrAlreadyExists},
		"id taken":            {func(k *models.Key) { k.ID = other.ID }, models.ErrAlreadyExists},
		"another owner":       {func(k *models.Key) { k.OwnerID = newOwner() }, nil},
		"bad hash":            {func(k *models.Key) { k.SecretHash = nil }, nil},
		"metadata not object": {func(k *models.Key) { k.Metadata = "[]" }, nil},
		"id not a UUID":       {func(k *models.Key) { k.ID = "x" }, nil},
	} {
		t.Run(name, func(t *testing.T) {
			old := mustCreate(t, s, newKey(owner))
			next := newKey(owner)
			c.mutate(next)
			_, err := s.RotateKey(ctx, owner, old.ID, next, at)
			if c.want != nil {
				wantErr(t, "RotateKey", err, c.want)
			} else if err == nil || errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrConflict) ||
				errors.Is(err, models.ErrAlreadyExists) {
				t.Fatalf("RotateKey = %v, want a validation error", err)
			}
			equalKeys(t, mustKey(t, s, owner, old.ID), *old) // rolled back
		})
	}
	if n := ownerKeys(t, s, owner); n != 1+7 {
		t.Fatalf("owner has %d live keys, want 8: no successor stored", n)
	}
}

func testRotateRace(t *testing.T, s *models.Store) {
	rotateRace(t, s, 50)
}

// rotateRace rotates one key from n goroutines at once: exactly one must win, every
// other must see ErrConflict, and exactly one key be added.
func rotateRace(t *testing.T, s *models.Store, n int) {
	t.Helper()
	ctx := context.Background()
	manyConns.Lock()
	defer manyConns.Unlock()
	old := mustCreate(t, s, newKey(newOwner()))
	before := ownerKeys(t, s, old.OwnerID)

	start := make(chan struct{})
	nexts := make([]*models.Key, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		nexts[i] = newKey(old.OwnerID)
		nexts[i].Name = old.Name
		wg.Go(func() {
			<-start
			_, errs[i] = s.RotateKey(ctx, old.OwnerID, old.ID, nexts[i], at)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("two rotations won: %d and %d", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, models.ErrConflict):
			t.Errorf("RotateKey %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation won")
	}
	if after := ownerKeys(t, s, old.OwnerID); after != before+1 {
		t.Fatalf("owner had %d keys, has %d; want exactly one more", before, after)
	}
	if got := mustKey(t, s, old.OwnerID, old.ID); got.RotatedTo == nil || *got.RotatedTo != nexts[winner].ID {
		t.Fatalf("old key RotatedTo = %v, want the winner's %s", got.RotatedTo, nexts[winner].ID)
	}
	mustKey(t, s, old.OwnerID, nexts[winner].ID)
}
