package exchange_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
)

// countingFinder is a store at the exchange's interface that counts its reads.
type countingFinder struct {
	reads atomic.Int64
	key   atomic.Pointer[models.Key]
}

func (f *countingFinder) KeyForExchange(_ context.Context, id string) (models.Key, error) {
	f.reads.Add(1)
	k := f.key.Load()
	if k == nil || id != k.LookupID {
		return models.Key{}, models.ErrNotFound
	}
	return *k, nil
}

func TestKeyState_Listening_ServedFromMemoryUntilChanged(t *testing.T) {
	f := &countingFinder{}
	f.key.Store(&models.Key{ID: "k1", LookupID: "lk1", Enabled: true})
	s := exchange.NewKeyState(f, 0, 0, nil)
	s.Listening(true, time.Time{})
	for range 5 {
		if k, err := s.KeyForExchange(context.Background(), "lk1"); err != nil || !k.Enabled {
			t.Fatalf("KeyForExchange = %+v, %v", k, err)
		}
	}
	if n := f.reads.Load(); n != 1 {
		t.Fatalf("store read %d times for 5 exchanges, want 1", n)
	}
	f.key.Store(&models.Key{ID: "k1", LookupID: "lk1", Enabled: false})
	s.KeyChanged("lk1")
	if k, _ := s.KeyForExchange(context.Background(), "lk1"); k.Enabled {
		t.Fatal("a changed key is still served as it was")
	}
}

func TestKeyState_UnknownKey_NeverRemembered(t *testing.T) {
	f := &countingFinder{}
	s := exchange.NewKeyState(f, 0, 0, nil)
	s.Listening(true, time.Time{})
	for range 3 {
		if _, err := s.KeyForExchange(context.Background(), "guess"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if n := f.reads.Load(); n != 3 {
		t.Fatalf("store read %d times for 3 unknown keys, want 3", n)
	}
	f.key.Store(&models.Key{ID: "k1", LookupID: "guess", Enabled: true})
	if _, err := s.KeyForExchange(context.Background(), "guess"); err != nil {
		t.Fatalf("a key created after a miss: %v", err)
	}
}

func TestKeyState_NotListeningOrHeartbeatOld_ReadsStoreEveryTime(t *testing.T) {
	f := &countingFinder{}
	f.key.Store(&models.Key{ID: "k1", LookupID: "lk1", Enabled: true})
	s := exchange.NewKeyState(f, 0, 0, nil)
	for range 3 { // never told it is listening
		_, _ = s.KeyForExchange(context.Background(), "lk1")
	}
	s.Listening(true, time.Now().Add(-time.Millisecond)) // the last heartbeat is too old
	for range 3 {
		_, _ = s.KeyForExchange(context.Background(), "lk1")
	}
	if n := f.reads.Load(); n != 6 || s.Trusted() {
		t.Fatalf("store read %d times for 6 exchanges (want 6), trusted %v", n, s.Trusted())
	}
}

// The real thing on PostgreSQL: a revoke by another writer reaches the state; the
// notification connection killed (and kept from reconnecting) makes every exchange
// read the store; once it is back, the state is current again.
func TestKeyState_Postgres_ListenerKilled_ReadsStoreUntilResynced(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	store, err := models.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := exchange.NewKeyState(store, 0, 0, nil)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store.WatchKeys(wctx, s)
	eventually(t, "listening", s.Trusted)

	k := &models.Key{OwnerID: "o1", OwnerUsername: "alice", Name: "n", LookupID: "lk_watch_1",
		SecretHash: make([]byte, 32), Environment: "production", Enabled: true}
	if err := store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	enabled := func() bool {
		got, err := s.KeyForExchange(ctx, k.LookupID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Enabled
	}
	if !enabled() {
		t.Fatal("new key not enabled")
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	setEnabled := func(on bool) {
		if _, err := admin.Exec(ctx, "UPDATE api_keys SET enabled = $1 WHERE id = $2", on, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	setEnabled(false) // announced by the trigger
	eventually(t, "the revoke seen", func() bool { return !enabled() })

	// A database cannot close itself to connections: that is done from the server's.
	server, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvServerURL))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close(ctx)
	db := pgx.Identifier{admin.Config().Database}.Sanitize()
	exec := func(sql string) {
		if _, err := server.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false")
	defer func() { _, _ = server.Exec(ctx, "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true") }()
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + models.ListenApplicationName + "'")
	eventually(t, "the state knows it is not listening", func() bool { return !s.Trusted() })
	setEnabled(true) // announced to nobody
	if !enabled() {
		t.Fatal("while not listening, a change is not seen at once: the store was not read")
	}
	setEnabled(false)
	if enabled() {
		t.Fatal("while not listening, a revoke is not seen at once")
	}
	exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true")
	eventually(t, "listening again", s.Trusted)
	if enabled() {
		t.Fatal("after the resync, the key is served as it was before the outage")
	}
	setEnabled(true)
	eventually(t, "a change after the resync seen", enabled)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// advance moves a fakeClock (keyring_test.go) on.
func (c *fakeClock) advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// A remembered key is served for at most its max age, even while every change is
// heard: a change whose announcement was lost is seen within that age.
func TestKeyState_MaxAge_OlderEntryReadAgain(t *testing.T) {
	f := &countingFinder{}
	f.key.Store(&models.Key{ID: "k1", LookupID: "lk1", Enabled: true})
	clock := &fakeClock{now: time.Now()}
	s := exchange.NewKeyState(f, 0, 10*time.Second, clock.Now)
	s.Listening(true, time.Time{})
	enabled := func() bool {
		k, err := s.KeyForExchange(context.Background(), "lk1")
		if err != nil {
			t.Fatal(err)
		}
		return k.Enabled
	}
	if !enabled() {
		t.Fatal("new key not enabled")
	}
	f.key.Store(&models.Key{ID: "k1", LookupID: "lk1", Enabled: false}) // revoked, unannounced
	clock.advance(10*time.Second - time.Nanosecond)
	if !enabled() || f.reads.Load() != 1 {
		t.Fatalf("within the max age: read %d times, want the remembered key and 1 read", f.reads.Load())
	}
	clock.advance(time.Nanosecond)
	if enabled() {
		t.Fatal("a key remembered for its max age is still served from memory")
	}
	if n := f.reads.Load(); n != 2 {
		t.Fatalf("store read %d times, want 2", n)
	}
	// What was read again is remembered again, for a max age of its own.
	clock.advance(5 * time.Second)
	if enabled() || f.reads.Load() != 2 {
		t.Fatalf("after the re-read: read %d times, want 2", f.reads.Load())
	}
}

// Zero means the default age, one minute.
func TestKeyState_MaxAgeZero_OneMinute(t *testing.T) {
	f := &countingFinder{}
	f.key.Store(&models.Key{ID: "k1", LookupID: "lk1", Enabled: true})
	clock := &fakeClock{now: time.Now()}
	s := exchange.NewKeyState(f, 0, 0, clock.Now)
	s.Listening(true, time.Time{})
	read := func() { _, _ = s.KeyForExchange(context.Background(), "lk1") }
	read()
	clock.advance(time.Minute - time.Second)
	read()
	if n := f.reads.Load(); n != 1 {
		t.Fatalf("read %d times within a minute, want 1", n)
	}
	clock.advance(time.Second)
	read()
	if n := f.reads.Load(); n != 2 {
		t.Fatalf("read %d times after a minute, want 2", n)
	}
}

// countingStore is the real store at the exchange's interface, counting its reads.
type countingStore struct {
	*models.Store
	reads atomic.Int64
}

func (s *countingStore) KeyForExchange(ctx context.Context, id string) (models.Key, error) {
	s.reads.Add(1)
	return s.Store.KeyForExchange(ctx, id)
}

// Every replica's heartbeats go through the one channel key changes come on: those
// of another replica (and this one's own) change no key, so they never make this
// replica forget what it remembers.
func TestKeyState_Postgres_OtherReplicasHeartbeats_MemoryKept(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	open := func() *models.Store {
		s, err := models.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	storeB := &countingStore{Store: open()}
	// Made before B listens, so that its notification cannot be what B hears.
	k := &models.Key{OwnerID: "o1", OwnerUsername: "alice", Name: "n", LookupID: "lkHeartbeat1",
		SecretHash: make([]byte, 32), Environment: "production", Enabled: true}
	if err := storeB.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	b := exchange.NewKeyState(storeB, 0, time.Hour, nil)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	storeB.WatchKeys(wctx, b)
	eventually(t, "B listening", b.Trusted)
	if _, err := b.KeyForExchange(ctx, k.LookupID); err != nil {
		t.Fatal(err)
	}
	remembered := storeB.reads.Load()
	// Replica A: its heartbeats come back to it (each Listening(true) is one), and
	// reach B on the same channel.
	a := &roundTrips{}
	open().WatchKeys(wctx, a)
	eventually(t, "ten of A's heartbeats back", func() bool { return a.n.Load() >= 10 })
	if _, err := b.KeyForExchange(ctx, k.LookupID); err != nil {
		t.Fatal(err)
	}
	if n := storeB.reads.Load(); n != remembered || !b.Trusted() {
		t.Fatalf("B read the store %d more times after A's heartbeats (want 0), trusted %v", n-remembered, b.Trusted())
	}
}

// roundTrips counts the heartbeats that came back to a listener.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) KeyChanged(string) {}
func (r *roundTrips) Listening(up bool, _ time.Time) {
	if up {
		r.n.Add(1)
	}
}
