package redistest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/testkit"
)

func TestURL_Misconfigured_SkipsOrFailsWithoutPassword(t *testing.T) {
	testkit.CheckRequire(t, EnvServerURL, "scripts/redis.sh", func(t testing.TB) { URL(t) }, "s3cret",
		"redis://default:s3cret@127.0.0.1:1/0",       // nothing listens on port 1
		"postgres://default:s3cret@127.0.0.1:6379/0", // not Redis
		"redis://default:s3cret@127.0.0.1:6379/x",    // not a database number
	)
}

func TestURL_FreshEmptyDatabasePerCall_FlushedAndReleasedAtCleanup(t *testing.T) {
	server := os.Getenv(EnvServerURL)
	if server == "" {
		URL(t) // skips or fails, as every Redis test does
	}
	ctx := context.Background()
	var urls []string
	t.Run("use", func(t *testing.T) {
		for range 2 {
			u := URL(t)
			c := client(t, u)
			if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
				t.Fatalf("new database holds %d keys (%v), want none", n, err)
			}
			if err := c.Set(ctx, "left-behind", "x", 0).Err(); err != nil {
				t.Fatalf("set: %v", err)
			}
			urls = append(urls, u)
		}
	})
	if len(urls) != 2 || urls[0] == urls[1] {
		t.Fatalf("URLs %v, want two different databases", urls)
	}
	admin := client(t, server)
	for _, u := range urls {
		c := client(t, u)
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
			t.Errorf("%d keys left in %s after the test ended (%v)", n, dbOf(t, u), err)
		}
		if n, err := admin.Exists(ctx, leasePrefix+strings.TrimPrefix(dbOf(t, u), "/")).Result(); err != nil || n != 0 {
			t.Errorf("lease of %s still held after the test ended (%v)", dbOf(t, u), err)
		}
	}
}

func TestWithDB_KeepsEverythingButTheDatabase(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"redis://default:p@127.0.0.1:6379/0", "redis://default:p@127.0.0.1:6379/7"},
		{"redis://127.0.0.1:6379", "redis://127.0.0.1:6379/7"},
		{"rediss://u:p@h:6380/3?protocol=3", "rediss://u:p@h:6380/7?protocol=3"},
		{"redis://h:6379/0?db=2", "redis://h:6379/7"}, // ?db= would win over the path
	} {
		got, err := withDB(tc.server, 7)
		if err != nil || got != tc.want {
			t.Errorf("withDB(%q) = %q, %v; want %q", tc.server, got, err, tc.want)
			continue
		}
		if opts, err := redis.ParseURL(got); err != nil || opts.DB != 7 {
			t.Errorf("go-redis reads %q as %+v (%v), want database 7", got, opts, err)
		}
	}
}

func client(t *testing.T, u string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("parse URL: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dbOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Path
}
