package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
)

// recorder is a KeyWatcher that passes on what it hears.
type recorder struct {
	changed   chan string
	listening chan bool
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan string, 1000), listening: make(chan bool, 100)}
}

func (r *recorder) KeyChanged(id string)           { r.changed <- id }
func (r *recorder) Listening(up bool, _ time.Time) { r.listening <- up }

// heard waits until the watcher is told that lookupID (or every key) changed.
func (r *recorder) heard(t *testing.T, what, lookupID string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-r.changed:
			if got == lookupID || got == models.AllKeys {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no announcement for the key", what)
		}
	}
}

// settled waits until everything a write of lookupID through s (the watched store)
// announces has been heard: on PostgreSQL its notification comes after the in-process
// announcement, which names the key too.
func (r *recorder) settled(t *testing.T, s *models.Store, lookupID string) {
	t.Helper()
	if s.Backend() != "postgres" {
		r.heard(t, "write", lookupID)
		r.drain()
		return
	}
	deadline := time.After(10 * time.Second)
	seen := 0
	for {
		select {
		case got := <-r.changed:
			if got == lookupID {
				if seen++; seen < 2 {
					continue
				}
				r.drain()
				return
			}
		case <-deadline:
			t.Fatal("the write's notification never came")
		}
	}
}

// drain forgets what was heard so far.
func (r *recorder) drain() {
	for {
		select {
		case <-r.changed:
		default:
			return
		}
	}
}

func watch(t *testing.T, s *models.Store) *recorder {
	t.Helper()
	r := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.WatchKeys(ctx, r)
	select {
	case up := <-r.listening:
		if !up {
			t.Fatal("first state heard is not listening")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never listening")
	}
	r.drain() // the resync that comes with listening
	return r
}

// Every change of a key, by every Store method that writes keys, reaches a watcher;
// on PostgreSQL a watcher of another replica's Store (its notifications), also for
// a change made by a writer that bypasses the Store.
func TestWatchKeys_EveryKeyWrite_Announced(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s := openStore(t, dsn, nil)
			watched := s
			if b.name == "postgres" {
				watched = openStore(t, dsn, nil)
			}
			r := watch(t, watched)
			ctx := context.Background()
			owner := newOwner()
			k := newKey(owner)
			if err := s.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			r.heard(t, "create", k.LookupID)
			r.drain()
			if _, err := s.UpdateKey(ctx, "", k.ID, func(k *models.Key) error { k.Enabled = false; return nil }); err != nil {
				t.Fatal(err)
			}
			r.heard(t, "disable", k.LookupID)
			r.drain()
			next := newKey(owner)
			if _, err := s.RotateKey(ctx, owner, k.ID, next, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			r.heard(t, "rotate", k.LookupID)
			r.drain()
			if err := s.DeleteKey(ctx, owner, next.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			r.heard(t, "revoke", next.LookupID)
			if b.name != "postgres" {
				return
			}
			r.drain()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			other := mustCreate(t, s, newKey(owner))
			r.drain()
			if _, err := conn.Exec(ctx, "UPDATE api_keys SET ip_allowlist = '10.0.0.0/8' WHERE id = $1", other.ID); err != nil {
				t.Fatal(err)
			}
			r.heard(t, "a writer outside the Store", other.LookupID)
		})
	}
}

// The usage flush touches only last use: it announces nothing, so that replicas do not
// forget their keys every flush.
func TestWatchKeys_UsageFlush_NotAnnounced(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testUsageFlushNotAnnounced(t, openStore(t, b.dsn(t), nil)) })
	}
}

func testUsageFlushNotAnnounced(t *testing.T, s *models.Store) {
	r := watch(t, s)
	k := mustCreate(t, s, newKey(newOwner()))
	r.settled(t, s, k.LookupID)
	err := s.RecordUsage(context.Background(), models.UsageBatch{
		LastUsed: map[string]models.KeyUse{k.ID: {At: time.Now(), IP: "192.0.2.1"}},
		Counts:   map[models.UsageKey]int64{{KeyID: k.ID, Day: time.Now().UTC().Format(time.DateOnly), Outcome: "issued"}: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	select { // in process, announced before the write returns
	case got := <-r.changed:
		t.Fatalf("the usage flush was announced as %q", got)
	default:
	}
	if s.Backend() == "sqlite" {
		return
	}
	// A marker write after the flush: once its notification is heard, the flush's
	// would have been too. Its in-process announcement (the marker too) comes first.
	marker := mustCreate(t, s, newKey(newOwner()))
	markers := 0
	for {
		select {
		case got := <-r.changed:
			if got == k.LookupID {
				t.Fatalf("the usage flush was announced as %q", got)
			}
			if got == marker.LookupID {
				if markers++; markers == 2 {
					return
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("marker never heard")
		}
	}
}

// A replica sees its own key writes before they return, on PostgreSQL too, where the
// notification comes back later: a key revoked here is refused by the next exchange
// here, however slow the notification.
func TestWatchKeys_OwnWrite_HeardBeforeItReturns(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			r := watch(t, s)
			owner := newOwner()
			k := mustCreate(t, s, newKey(owner))
			r.settled(t, s, k.LookupID)
			if err := s.DeleteKey(context.Background(), owner, k.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-r.changed:
				if got != models.AllKeys && got != k.LookupID {
					t.Fatalf("heard %q, not the revoked key", got)
				}
			default:
				t.Fatal("the revocation was not announced by the time it returned")
			}
		})
	}
}

// Every replica's heartbeats travel on the channel of key changes: a watcher hears
// none of them, its own or another replica's, as a change.
func TestWatchKeys_Postgres_Heartbeats_NotKeyChanges(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := watch(t, openStore(t, dsn, nil)), watch(t, openStore(t, dsn, nil))
	// Each Listening(true) is a heartbeat of one's own come back; A's go to B too.
	for _, r := range []*recorder{a, b} {
		for n := 0; n < 8; {
			select {
			case up := <-r.listening:
				if !up {
					t.Fatal("not listening any more")
				}
				n++
			case <-time.After(10 * time.Second):
				t.Fatal("heartbeats stopped coming back")
			}
		}
	}
	for _, r := range []*recorder{a, b} {
		select {
		case got := <-r.changed:
			t.Fatalf("heard %q as a key change", got)
		default:
		}
	}
}

// inProcess returns what the watcher has heard so far, without waiting: a write's
// in-process announcement is made before the write returns.
func (r *recorder) inProcess() map[string]bool {
	got := map[string]bool{}
	for {
		select {
		case id := <-r.changed:
			got[id] = true
		default:
			return got
		}
	}
}

// Each key write of the Store announces, in process, the keys it changed and no
// other: a write no longer makes a replica forget every key. On PostgreSQL notifications
// of earlier writes (the bystander's too) may be heard as well, so only SQLite checks
// that nothing else is.
func TestWatchKeys_KeyWrite_AnnouncesOnlyItsKeys(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			r := watch(t, s)
			ctx := context.Background()
			owner := newOwner()
			bystander := mustCreate(t, s, newKey(newOwner()))
			k := newKey(owner)
			second := newKey(owner)
			next := newKey(owner)
			r.settled(t, s, bystander.LookupID)
			check := func(what string, want ...string) {
				t.Helper()
				got := r.inProcess()
				for _, id := range want {
					if !got[id] {
						t.Errorf("%s: %s not announced by the time it returned (heard %v)", what, id, got)
					}
					delete(got, id)
				}
				if got[models.AllKeys] || (b.name == "sqlite" && len(got) > 0) {
					t.Errorf("%s: announced more than its keys: %v", what, got)
				}
			}
			if err := s.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			check("create", k.LookupID)
			if err := s.CreateKeyCapped(ctx, second, 10, time.Now()); err != nil {
				t.Fatal(err)
			}
			check("create capped", second.LookupID)
			if _, err := s.UpdateKey(ctx, owner, k.ID, func(k *models.Key) error { k.Enabled = false; return nil }); err != nil {
				t.Fatal(err)
			}
			check("update", k.LookupID)
			if _, err := s.RotateKey(ctx, owner, k.ID, next, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			check("rotate", k.LookupID, next.LookupID)
			if err := s.DeleteKey(ctx, owner, next.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			check("revoke", next.LookupID)
			if _, err := s.SetOwnerDisabled(ctx, owner, true); err != nil {
				t.Fatal(err)
			}
			check("owner disabled", k.LookupID, second.LookupID)
			if _, err := s.DeleteKeysOfOwner(ctx, owner, time.Now()); err != nil {
				t.Fatal(err)
			}
			check("owner deleted", k.LookupID, second.LookupID)
			if _, err := s.UpdateKey(ctx, owner, k.ID, func(*models.Key) error { return nil }); err == nil {
				t.Fatal("updated a deleted key")
			}
			check("a write that changed nothing")
		})
	}
}
