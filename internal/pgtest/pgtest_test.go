package pgtest

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyward/keyward/internal/testkit"
)

func TestDSN_Misconfigured_SkipsOrFailsWithoutPassword(t *testing.T) {
	testkit.CheckRequire(t, EnvServerURL, "scripts/pg.sh", func(t testing.TB) { DSN(t) }, "s3cret",
		"postgres://keyward:s3cret@127.0.0.1:1/postgres?connect_timeout=5", // nothing listens on port 1
	)
}

func TestDSN_FreshEmptyDatabasePerCall_DroppedAtCleanup(t *testing.T) {
	server := os.Getenv(EnvServerURL)
	if server == "" {
		DSN(t) // skips or fails, as every PostgreSQL test does
	}
	ctx := context.Background()
	var names []string
	var conns []*pgx.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close(ctx)
		}
	}()
	t.Run("use", func(t *testing.T) {
		for range 2 {
			dsn := DSN(t)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatalf("connect to the new database: %v", err)
			}
			conns = append(conns, conn) // left open: the drop must end it
			var name string
			var tables int
			err = conn.QueryRow(ctx, `SELECT current_database(),
				(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')`).Scan(&name, &tables)
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			if tables != 0 {
				t.Errorf("database %s has %d tables, want none", name, tables)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
				t.Fatalf("create table: %v", err)
			}
			if u, _ := url.Parse(dsn); u.Path != "/"+name {
				t.Errorf("DSN names database %q, connected to %q", u.Path, name)
			}
			names = append(names, name)
		}
	})
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v, want two different ones", names)
	}

	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to the server: %v", err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names).Scan(&left); err != nil {
		t.Fatalf("query: %v", err)
	}
	if left != 0 {
		t.Fatalf("%d of %v still exist after the test ended", left, names)
	}
}

func TestWithDatabase_KeepsEverythingButTheDatabase(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"postgres://u:p@h:5432/postgres?sslmode=disable", "postgres://u:p@h:5432/db1?sslmode=disable"},
		{"postgresql://h/", "postgresql://h/db1"},
		{"host=h user=u dbname=postgres", "host=h user=u dbname=postgres dbname=db1"},
	} {
		got, err := withDatabase(tc.server, "db1")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.server, got, err, tc.want)
			continue
		}
		if cfg, err := pgconn.ParseConfig(got); err != nil || cfg.Database != "db1" {
			t.Errorf("pgx reads %q as database %v (%v), want db1", got, cfg, err)
		}
	}
}
