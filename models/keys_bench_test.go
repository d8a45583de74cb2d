package models_test

// Benchmarks of the look-up every exchange makes (cache hits too: the key's state is
// read on every request), on both backends. Not run by `make test`; run them with
//
//	go test -run '^$' -bench . -benchmem ./models/
//
// PostgreSQL needs KEYWARD_TEST_DATABASE_URL (scripts/pg.sh) and is skipped without it.

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
)

// benchKeys is how many keys the table holds: enough that the look-up goes through
// the unique index as it would in a real table, few enough to seed in seconds.
const benchKeys = 1000

var benchBackends = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	// A file with WAL, as Keyward runs it: not the in-memory database.
	{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "keyward.db") }},
	{"postgres", func(b *testing.B) string { return pgtest.DSN(b) }},
}

type benchFixture struct {
	store  *models.Store
	hasher *exchange.Hasher
	keys   []exchange.ParsedKey
}

// seed opens a fresh store and fills it with benchKeys live keys.
func seed(b *testing.B, dsn string) benchFixture {
	b.Helper()
	ctx := context.Background()
	s, err := models.Open(ctx, dsn, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	h, err := exchange.NewHasher([]byte(strings.Repeat("p", 32)))
	if err != nil {
		b.Fatal(err)
	}
	f := benchFixture{store: s, hasher: h}
	exp := time.Now().Add(365 * 24 * time.Hour)
	for i := range benchKeys {
		p, err := exchange.GenerateKey(exchange.EnvLive)
		if err != nil {
			b.Fatal(err)
		}
		k := &models.Key{
			OwnerID: "owner-" + strconv.Itoa(i%50), OwnerUsername: "user", Name: "key " + strconv.Itoa(i),
			LookupID: p.LookupID, SecretHash: h.Hash(p.Secret), Environment: "production",
			Enabled: true, ExpiresAt: &exp,
		}
		if err := s.CreateKey(ctx, k); err != nil {
			b.Fatal(err)
		}
		f.keys = append(f.keys, p)
	}
	return f
}

// onEachBackend runs bench, allocations reported, on a seeded store of each backend.
func onEachBackend(b *testing.B, bench func(b *testing.B, ctx context.Context, f benchFixture)) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			f := seed(b, be.dsn(b))
			b.ReportAllocs()
			bench(b, context.Background(), f)
		})
	}
}

// KeyForExchange alone: one indexed SELECT through database/sql.
func BenchmarkKeyForExchange(b *testing.B) {
	onEachBackend(b, func(b *testing.B, ctx context.Context, f benchFixture) {
		i := 0
		for b.Loop() {
			if _, err := f.store.KeyForExchange(ctx, f.keys[i%len(f.keys)].LookupID); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// The verification step of an exchange: look the key up, then hash its secret and
// compare in constant time.
func BenchmarkLookupAndHash(b *testing.B) {
	onEachBackend(b, func(b *testing.B, ctx context.Context, f benchFixture) {
		i := 0
		for b.Loop() {
			p := f.keys[i%len(f.keys)]
			k, err := f.store.KeyForExchange(ctx, p.LookupID)
			if err != nil || !f.hasher.Matches(p.Secret, k.SecretHash) {
				b.Fatalf("key %d: %v", i, err)
			}
			i++
		}
	})
}

// Concurrent look-ups, as the server makes them: shows what the connection pool and
// (on SQLite) the file's locks allow on this machine's cores.
func BenchmarkKeyForExchange_Parallel(b *testing.B) {
	onEachBackend(b, func(b *testing.B, ctx context.Context, f benchFixture) {
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := f.store.KeyForExchange(ctx, f.keys[i%len(f.keys)].LookupID); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
