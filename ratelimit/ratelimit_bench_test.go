package ratelimit

// Benchmarks of the rate-limit check every exchange makes (cache hits too). Not run by
// `make test`; run them with
//
//	go test -run '^$' -bench . -benchmem ./ratelimit/
//
// The Redis ones need KEYWARD_TEST_REDIS_URL (scripts/redis.sh) and are skipped
// without it.

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/redistest"
)

// benchLimit never binds at benchmark speed, so that every call takes the allowed
// path, as the bench key of the load test does.
var benchLimit = Limit{Requests: 1 << 30, Window: time.Second}

// One hot key: the common case of a script hammering its own key.
func BenchmarkMemory_Allow(b *testing.B) {
	m := NewMemory(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := m.Allow(ctx, "key-id", benchLimit); err != nil || !d.Allowed {
			b.Fatalf("%+v %v", d, err)
		}
	}
}

// Many keys: map look-ups over 10,000 live buckets instead of one.
func BenchmarkMemory_Allow_10kKeys(b *testing.B) {
	m := NewMemory(nil)
	ctx := context.Background()
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = "key-" + strconv.Itoa(i)
		if _, err := m.Allow(ctx, ids[i], benchLimit); err != nil { // buckets exist before timing
			b.Fatal(err)
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if d, err := m.Allow(ctx, ids[i%len(ids)], benchLimit); err != nil || !d.Allowed {
			b.Fatalf("%+v %v", d, err)
		}
		i++
	}
}

// One hot key from every core: the single mutex is the bound.
func BenchmarkMemory_Allow_Parallel(b *testing.B) {
	m := NewMemory(nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, err := m.Allow(ctx, "key-id", benchLimit); err != nil || !d.Allowed {
				b.Errorf("%+v %v", d, err)
				return
			}
		}
	})
}

// One GCRA script round trip to Redis on loopback per check.
func BenchmarkRedis_Allow(b *testing.B) {
	opts, err := redis.ParseURL(redistest.URL(b))
	if err != nil {
		b.Fatalf("parse %s: %v", redistest.EnvServerURL, err)
	}
	client := redis.NewClient(opts)
	b.Cleanup(func() { _ = client.Close() })
	r := NewRedis(client, "bench:")
	ctx := context.Background()
	if _, err := r.Allow(ctx, "key-id", benchLimit); err != nil { // connection and script loaded
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := r.Allow(ctx, "key-id", benchLimit); err != nil || !d.Allowed {
			b.Fatalf("%+v %v", d, err)
		}
	}
}
