// Package pgtest gives tests a fresh, empty PostgreSQL database on a shared server.
//
// The server is named by KEYWARD_TEST_DATABASE_URL (scripts/pg.sh starts one).
// Without it, tests that need PostgreSQL are skipped, or fail when
// KEYWARD_REQUIRE_INTEGRATION=1 so that CI cannot pass by skipping them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/internal/testkit"
)

// Environment variables read by DSN.
const (
	EnvServerURL          = "KEYWARD_TEST_DATABASE_URL"
	EnvRequireIntegration = testkit.EnvRequireIntegration
)

const adminTimeout = 30 * time.Second

// DSN creates a database with a random name on the test server and returns its DSN.
// The database is dropped, with any connection left open to it, when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	server := testkit.Require(t, EnvServerURL, "PostgreSQL",
		"start one with `bash scripts/pg.sh start` and export "+EnvServerURL+"=$(bash scripts/pg.sh url)")

	name := "keyward_test_" + randomHex(8)
	// The server URL can be misconfigured by hand: errors name the variable, never
	// its value, which may hold a password.
	if err := admin(server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database on %s: %v", EnvServerURL, err)
	}
	t.Cleanup(func() {
		// FORCE (PostgreSQL 13+) ends connections a test forgot to close.
		stmt := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
		if err := admin(server, stmt); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvServerURL, err)
	}
	return dsn
}

// admin runs one statement on the server's own database. CREATE/DROP DATABASE
// cannot run inside a transaction, so this uses a plain connection.
func admin(server, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// withDatabase returns the server DSN pointing at database name; both the URL and
// the key=value forms are accepted.
func withDatabase(server, name string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", errors.New("not a valid URL") // url.Error would repeat it
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In key=value form a later key wins.
	return server + " dbname=" + name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
