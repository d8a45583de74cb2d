package exchange_test

import (
	"context"
	"crypto/rand"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/models"
)

// perKeyReads is a store of any number of keys that counts reads per lookup id and can
// change a key (its Scopes carry a version).
type perKeyReads struct {
	mu      sync.Mutex
	reads   map[string]int
	version map[string]int
}

func newPerKeyReads() *perKeyReads {
	return &perKeyReads{reads: map[string]int{}, version: map[string]int{}}
}

func (p *perKeyReads) KeyForExchange(_ context.Context, id string) (models.Key, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads[id]++
	return models.Key{ID: "id-" + id, LookupID: id, Enabled: true, Scopes: "v" + strconv.Itoa(p.version[id])}, nil
}

func (p *perKeyReads) readsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reads[id]
}

func (p *perKeyReads) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.reads {
		n += r
	}
	return n
}

// More keys than the bound: memory stays near the bound, the hot keys stay remembered
// through a scan of one-off keys, and an evicted key is read again, as it is now.
func TestKeyState_MoreKeysThanBound_EvictsColdKeepsHot(t *testing.T) {
	const bound, hot, scan = 1000, 100, 50_000
	p := newPerKeyReads()
	s := exchange.NewKeyState(p, bound, time.Hour, nil)
	s.Listening(true, time.Time{})
	ctx := context.Background()
	get := func(id string) models.Key {
		t.Helper()
		k, err := s.KeyForExchange(ctx, id)
		if err != nil || k.LookupID != id {
			t.Fatalf("KeyForExchange(%s) = %+v, %v", id, k, err)
		}
		return k
	}
	for range 20 { // the hot keys are used often
		for i := range hot {
			get("hot" + strconv.Itoa(i))
		}
	}
	before := heapInUse()
	for i := range scan { // then a scan of keys used once, many times the bound
		get("cold" + strconv.Itoa(i))
		get("hot" + strconv.Itoa(i%hot)) // each hot key every 200 exchanges

	}
	runtime.Gosched()
	grown := int64(heapInUse()) - int64(before)
	// Unbounded, 50,000 keys would hold ~25 MB (bytes/key in BenchmarkKeyState_BytesPerKey).
	if grown > 4<<20 {
		t.Errorf("heap grew by %d bytes over a scan of %d keys with a bound of %d", grown, scan, bound)
	}
	hotReads := 0
	for i := range hot {
		id := "hot" + strconv.Itoa(i)
		get(id)
		hotReads += p.readsOf(id)
	}
	if hotReads > hot*3 { // once at first, seldom more
		t.Errorf("hot keys read %d times from the store (%d keys): the scan evicted them", hotReads, hot)
	}
	// A key new after the scan is remembered, not refused because memory is full.
	for range 3 {
		get("fresh")
	}
	if n := p.readsOf("fresh"); n != 1 {
		t.Errorf("a new key read %d times from the store for 3 exchanges, want 1", n)
	}
	// An evicted key comes back from the store, as it is now.
	p.mu.Lock()
	p.version["cold0"] = 7
	p.mu.Unlock()
	if k := get("cold0"); k.Scopes != "v7" {
		t.Fatalf("an evicted key came back as %q, want the store's v7", k.Scopes)
	}
	if p.readsOf("cold0") != 2 {
		t.Fatalf("cold0 read %d times, want 2 (evicted, then read again)", p.readsOf("cold0"))
	}
}

// A change of one key forgets that key only; AllKeys forgets every one.
func TestKeyState_KeyChanged_ForgetsOnlyThatKey(t *testing.T) {
	p := newPerKeyReads()
	s := exchange.NewKeyState(p, 0, time.Hour, nil)
	s.Listening(true, time.Time{})
	ctx := context.Background()
	ids := []string{"a", "b", "c", "d"}
	readAll := func() {
		for _, id := range ids {
			if _, err := s.KeyForExchange(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	readAll()
	p.mu.Lock()
	p.version["b"] = 1
	p.mu.Unlock()
	s.KeyChanged("b")
	readAll()
	if n := p.total(); n != len(ids)+1 {
		t.Fatalf("store read %d times, want %d: a change of b made others be read again", n, len(ids)+1)
	}
	if k, _ := s.KeyForExchange(ctx, "b"); k.Scopes != "v1" {
		t.Fatalf("b served as %q after its change, want v1", k.Scopes)
	}
	s.KeyChanged(models.AllKeys)
	readAll()
	if n := p.total(); n != 2*len(ids)+1 {
		t.Fatalf("store read %d times, want %d: AllKeys left keys remembered", n, 2*len(ids)+1)
	}
}

// Through the Store: a key write makes the replica forget the key written, in process
// before the write returns, and keep every other key.
func TestKeyState_StoreWrite_ForgetsOnlyItsKey(t *testing.T) {
	store, err := models.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cs := &countingStore{Store: store}
	s := exchange.NewKeyState(cs, 0, time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store.WatchKeys(ctx, s)
	owner := uuid.NewString()
	var keys []*models.Key
	for i := range 5 {
		hash := make([]byte, 32)
		_, _ = rand.Read(hash)
		k := &models.Key{OwnerID: owner, OwnerUsername: "alice", Name: "k" + strconv.Itoa(i),
			LookupID: "lk" + uuid.NewString()[:8], SecretHash: hash, Environment: "production", Enabled: true}
		if err := store.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		if _, err := s.KeyForExchange(ctx, k.LookupID); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.DeleteKey(ctx, owner, keys[2].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The revoked key is refused at once, the others are served from memory.
	if _, err := s.KeyForExchange(ctx, keys[2].LookupID); err == nil {
		t.Fatal("a revoked key is still served")
	}
	before := cs.reads.Load()
	for i, k := range keys {
		if i == 2 {
			continue
		}
		if _, err := s.KeyForExchange(ctx, k.LookupID); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads.Load() - before; n != 0 {
		t.Fatalf("%d store reads for the keys the revocation did not touch, want 0", n)
	}
}
