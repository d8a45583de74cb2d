package exchange_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/sealbox"
	"github.com/keyward/keyward/models"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func ringStore(t *testing.T) *models.Store {
	s, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newBox(t *testing.T) *sealbox.Box {
	k := make([]byte, sealbox.KeySize)
	_, _ = rand.Read(k)
	b, err := sealbox.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kids(ring *exchange.KeyRing) []string {
	var out []string
	set := ring.PublicKeys()
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		out = append(out, k.KeyID())
	}
	return out
}

// signingKID is the kid in the header of an assertion the ring signs now.
func signingKID(t *testing.T, ring *exchange.KeyRing, clock func() time.Time) string {
	t.Helper()
	a, err := exchange.NewRingSigner(ring, "http://kw", "http://kc/realms/r", clock).Assertion("user")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := jws.Parse([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

func TestKeyRing_KeyFileImportedOnce_SharedByReplicas_StoredSealed(t *testing.T) {
	store, box := ringStore(t), newBox(t)
	ctx := context.Background()
	file, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a := exchange.NewKeyRing(store, box, 720*time.Hour, nil, nil)
	if err := a.Init(ctx, file); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b := exchange.NewKeyRing(store, box, 720*time.Hour, nil, nil)
	if err := b.Init(ctx, other); err != nil { // a replica given another file: ignored
		t.Fatal(err)
	}
	rows, _ := store.SigningKeys(ctx)
	if len(rows) != 1 {
		t.Fatalf("%d keys stored, want the one imported", len(rows))
	}
	if ka, kb := signingKID(t, a, time.Now), signingKID(t, b, time.Now); ka != rows[0].KID || kb != ka {
		t.Fatalf("replicas sign with %s and %s, want the imported %s", ka, kb, rows[0].KID)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(file)
	if bytes.Contains(rows[0].Sealed, der) || bytes.Contains(rows[0].Sealed, file.D.Bytes()) {
		t.Fatal("the private key is stored in clear")
	}
	wrong := exchange.NewKeyRing(store, newBox(t), 720*time.Hour, nil, nil)
	if err := wrong.Init(ctx, nil); !errors.Is(err, exchange.ErrSealedKey) {
		t.Fatalf("another encryption key: %v, want ErrSealedKey", err)
	}
}

// The schedule: the next key is published PublishAhead before it signs; the previous
// one stays published until its assertions have expired, then goes; a replica that
// only refreshes sees the same keys and switches at the same time.
func TestKeyRing_ScheduledRotation_PublishAheadThenRetire(t *testing.T) {
	store, box := ringStore(t), newBox(t)
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	const rotation = 72 * time.Hour
	a := exchange.NewKeyRing(store, box, rotation, clock.Now, nil)
	b := exchange.NewKeyRing(store, box, rotation, clock.Now, nil)
	if err := a.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	first := signingKID(t, a, clock.Now)
	clock.Set(start.Add(rotation - exchange.PublishAhead - time.Second))
	_ = a.Tick(ctx)
	if got := kids(a); len(got) != 1 {
		t.Fatalf("before the publish-ahead window: published %v", got)
	}
	clock.Set(start.Add(rotation - exchange.PublishAhead))
	for _, r := range []*exchange.KeyRing{a, b} { // both due: one next key, not two
		if err := r.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if rows, _ := store.SigningKeys(ctx); len(rows) != 2 {
		t.Fatalf("%d keys after both replicas ticked, want 2", len(rows))
	}
	_ = b.Refresh(ctx)
	if got := kids(b); len(got) != 2 || signingKID(t, b, clock.Now) != first {
		t.Fatalf("publish ahead: published %v, signing %s, want both published and %s signing", got, signingKID(t, b, clock.Now), first)
	}
	clock.Set(start.Add(rotation))
	second := signingKID(t, a, clock.Now)
	if second == first || signingKID(t, b, clock.Now) != second {
		t.Fatal("the replicas did not switch to the next key at its time")
	}
	clock.Set(start.Add(rotation + exchange.AssertionLifetime))
	_ = a.Tick(ctx)
	if got := kids(a); len(got) != 2 {
		t.Fatalf("the previous key went before its assertions expired: %v", got)
	}
	clock.Set(start.Add(rotation + exchange.AssertionLifetime + exchange.PublishAhead + time.Second))
	_ = a.Tick(ctx)
	if got := kids(a); len(got) != 1 || got[0] != second {
		t.Fatalf("long after the switch: published %v, want only %s", got, second)
	}
	clock.Set(start.Add(rotation + 25*time.Hour + 5*time.Minute))
	_ = a.Tick(ctx)
	if rows, _ := store.SigningKeys(ctx); len(rows) != 1 {
		t.Fatalf("%d keys stored a day after retirement, want 1", len(rows))
	}
}

func TestKeyRing_RotateOnDemand_NextSignsAfterPublishAhead_OnlyOneNext(t *testing.T) {
	store, box := ringStore(t), newBox(t)
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := exchange.NewKeyRing(store, box, 720*time.Hour, clock.Now, nil)
	if err := r.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	first := signingKID(t, r, clock.Now)
	next, err := r.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Rotate(ctx)
	if err != nil || again.KID != next.KID {
		t.Fatalf("a second rotate made %v (%v), want the pending %s", again.KID, err, next.KID)
	}
	if !next.ActiveFrom.Equal(clock.Now().Add(exchange.PublishAhead)) || len(kids(r)) != 2 {
		t.Fatalf("next signs from %v, published %v", next.ActiveFrom, kids(r))
	}
	if signingKID(t, r, clock.Now) != first {
		t.Fatal("the new key signs before it was published for PublishAhead")
	}
	clock.Set(next.ActiveFrom)
	if signingKID(t, r, clock.Now) != next.KID {
		t.Fatal("the new key does not sign at its time")
	}
}
