package exchange_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// manyKeys is a store of any number of keys: lookup id "lk<n>", each with the fields an
// exchange reads filled as a real key's are.
type manyKeys struct{ reads int }

func (m *manyKeys) KeyForExchange(_ context.Context, id string) (models.Key, error) {
	m.reads++
	return benchKey(id), nil
}

func benchKey(lookupID string) models.Key {
	now := time.Now()
	exp := now.Add(90 * 24 * time.Hour)
	return models.Key{ID: "0b6f1c4e-8d1a-4c53-9a4e-" + lookupID, OwnerID: "6a1f0e2c-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
		LookupID: lookupID, Name: "ci-deploy-" + lookupID, Enabled: true, Scopes: "openid profile",
		Metadata: "{}", SecretHash: make([]byte, 32), CreatedAt: now, UpdatedAt: now, ExpiresAt: &exp}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkKeyState_BytesPerKey fills the key state with n keys and reports the heap it
// holds per remembered key (the keys' own strings included).
func BenchmarkKeyState_BytesPerKey(b *testing.B) {
	const n = 100_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "lk" + strconv.Itoa(i)
	}
	ctx := context.Background()
	for b.Loop() {
		before := heapInUse()
		s := exchange.NewKeyState(&manyKeys{}, n, time.Hour, nil)
		s.Listening(true, time.Time{})
		for _, id := range ids {
			_, _ = s.KeyForExchange(ctx, id)
		}
		after := heapInUse()
		runtime.KeepAlive(s)
		b.ReportMetric(float64(after-before)/n, "bytes/key")
	}
}

// BenchmarkKeyState_GetHit is the exchange's path for a remembered key.
func BenchmarkKeyState_GetHit(b *testing.B) {
	const n = 10_000
	s := exchange.NewKeyState(&manyKeys{}, n, time.Hour, nil)
	s.Listening(true, time.Time{})
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "lk" + strconv.Itoa(i)
		_, _ = s.KeyForExchange(ctx, ids[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.KeyForExchange(ctx, ids[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkTokenCache_BytesPerToken fills the token cache with n tokens (one scope per
// key) and reports the heap it holds per token, the token's strings included.
func BenchmarkTokenCache_BytesPerToken(b *testing.B) {
	const n = 100_000
	now := time.Now()
	for b.Loop() {
		before := heapInUse()
		c := exchange.NewTokenCache(30*time.Second, n)
		for i := range n {
			id := strconv.Itoa(i)
			c.Put("key-"+id, "owner-"+id, "openid", benchToken(id), now)
		}
		after := heapInUse()
		runtime.KeepAlive(c)
		b.ReportMetric(float64(after-before)/n, "bytes/token")
	}
}

// benchToken has an access token of a realistic size (a signed JWT of ~900 bytes).
func benchToken(id string) keycloak.Token {
	jwt := make([]byte, 900)
	for i := range jwt {
		jwt[i] = 'a' + byte(i%26)
	}
	return keycloak.Token{AccessToken: string(jwt) + id, ExpiresIn: 300, Scope: "openid"}
}

// BenchmarkTokenCache_GetHit is the exchange's path for a cached token.
func BenchmarkTokenCache_GetHit(b *testing.B) {
	const n = 10_000
	now := time.Now()
	c := exchange.NewTokenCache(30*time.Second, n)
	keys := make([]string, n)
	for i := range n {
		keys[i] = "key-" + strconv.Itoa(i)
		c.Put(keys[i], "owner", "openid", benchToken(keys[i]), now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%n], "openid", now); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
