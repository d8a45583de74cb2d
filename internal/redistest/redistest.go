// Package redistest gives tests a fresh, empty Redis logical database on a shared server.
//
// The server is named by KEYWARD_TEST_REDIS_URL (scripts/redis.sh starts one). Without
// it, tests that need Redis are skipped, or fail when KEYWARD_REQUIRE_INTEGRATION=1 so
// that CI cannot pass by skipping them. It is for tests only: it flushes databases.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/testkit"
)

// Environment variables read by URL.
const (
	EnvServerURL          = "KEYWARD_TEST_REDIS_URL"
	EnvRequireIntegration = testkit.EnvRequireIntegration
)

const (
	adminTimeout = 10 * time.Second
	// A lease outlives any test run (make test allows 20 minutes) and frees the
	// database of a test process that died without cleaning up.
	leaseTTL = time.Hour
	// Database 0 holds the leases; tests get 1..databases-1.
	counterKey  = "keyward:redistest:next"
	leasePrefix = "keyward:redistest:lease:"
)

// releaseLease deletes a lease only if it is still ours.
var releaseLease = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// URL leases a logical database of the test server, empties it, and returns the
// server's redis:// URL naming that database. At the end of t the database is flushed
// and the lease released. Parallel tests and test processes get different databases
// as long as fewer than the server's `databases`-1 are leased at once.
func URL(t testing.TB) string {
	t.Helper()
	server := testkit.Require(t, EnvServerURL, "Redis",
		"start one with `bash scripts/redis.sh start` and export "+EnvServerURL+"=$(bash scripts/redis.sh url)")
	// Errors name the variable, never its value, which may hold a password.
	opts, err := options(server)
	if err != nil {
		t.Fatalf("redistest: %s: %v", EnvServerURL, err)
	}
	db, token, err := lease(opts)
	if err != nil {
		t.Fatalf("redistest: lease a database on %s: %v", EnvServerURL, scrub(err, opts.Password))
	}
	t.Cleanup(func() {
		if err := release(opts, db, token); err != nil {
			t.Errorf("redistest: release database %d: %v", db, scrub(err, opts.Password))
		}
	})
	u, err := withDB(server, db)
	if err != nil {
		t.Fatalf("redistest: %s: %v", EnvServerURL, err)
	}
	return u
}

func options(server string) (*redis.Options, error) {
	if !strings.HasPrefix(server, "redis://") && !strings.HasPrefix(server, "rediss://") {
		return nil, errors.New("not a redis:// or rediss:// URL")
	}
	opts, err := redis.ParseURL(server)
	if err != nil {
		return nil, errors.New("not a valid Redis URL") // the error would repeat it
	}
	opts.DB = 0
	opts.DialTimeout = 5 * time.Second
	opts.MaxRetries = 1 // an admin call that fails should fail the test fast
	return opts, nil
}

func clientFor(opts *redis.Options, db int) *redis.Client {
	o := *opts
	o.DB = db
	return redis.NewClient(&o)
}

// lease claims a database no one else holds and flushes it.
func lease(opts *redis.Options) (db int, token string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	c := clientFor(opts, 0)
	defer c.Close()

	n := 16 // Redis's default, when CONFIG is not allowed
	if v, err := c.ConfigGet(ctx, "databases").Result(); err == nil {
		if d, err := strconv.Atoi(v["databases"]); err == nil {
			n = d
		}
	}
	if n < 2 {
		return 0, "", fmt.Errorf("the server has %d database(s); tests need at least 2", n)
	}
	token = randomHex(8)
	for range n - 1 {
		next, err := c.Incr(ctx, counterKey).Result()
		if err != nil {
			return 0, "", err
		}
		db = 1 + int((next-1)%int64(n-1))
		ok, err := c.SetNX(ctx, leasePrefix+strconv.Itoa(db), token, leaseTTL).Result()
		if err != nil {
			return 0, "", err
		}
		if ok {
			if err := flush(ctx, opts, db); err != nil {
				_ = releaseLease.Run(ctx, c, []string{leasePrefix + strconv.Itoa(db)}, token).Err()
				return 0, "", err
			}
			return db, token, nil
		}
	}
	return 0, "", fmt.Errorf("all %d test databases are leased", n-1)
}

func release(opts *redis.Options, db int, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := flush(ctx, opts, db); err != nil {
		return err
	}
	c := clientFor(opts, 0)
	defer c.Close()
	return releaseLease.Run(ctx, c, []string{leasePrefix + strconv.Itoa(db)}, token).Err()
}

func flush(ctx context.Context, opts *redis.Options, db int) error {
	c := clientFor(opts, db)
	defer c.Close()
	return c.FlushDB(ctx).Err()
}

// withDB returns the server URL naming database db, everything else kept.
func withDB(server string, db int) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", errors.New("not a valid URL") // url.Error would repeat it
	}
	u.Path = "/" + strconv.Itoa(db)
	u.RawPath = ""
	q := u.Query()
	if q.Has("db") { // go-redis reads ?db= too; it must not contradict the path
		q.Del("db")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// scrub removes the password from an error's text, in case a driver ever quotes it.
func scrub(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "***"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
