package pgtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/internal/pgtest"
)

// Through the proxy a LISTEN connection works as it does straight to the server; told
// to drop notifications, queries and pings still pass but no notification arrives.
func TestProxy_DropsNotificationsOnly(t *testing.T) {
	dsn := pgtest.DSN(t)
	proxy, proxied := pgtest.NewProxy(t, dsn)
	ctx := context.Background()
	listener, err := pgx.Connect(ctx, proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	notifier, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer notifier.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN pgtest_proxy"); err != nil {
		t.Fatal(err)
	}
	notify := func(payload string) {
		if _, err := notifier.Exec(ctx, "SELECT pg_notify('pgtest_proxy', $1)", payload); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(d time.Duration) (string, error) {
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			return "", err
		}
		return n.Payload, nil
	}
	notify("one")
	if got, err := wait(10 * time.Second); err != nil || got != "one" {
		t.Fatalf("forwarded: %q, %v", got, err)
	}
	proxy.DropNotifications(true)
	notify("two")
	// The server has sent it once a notification sent after it comes back on a
	// connection of its own; the listener must still not see it.
	direct, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(ctx)
	if _, err := direct.Exec(ctx, "LISTEN pgtest_proxy"); err != nil {
		t.Fatal(err)
	}
	notify("marker")
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := direct.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if n.Payload == "marker" {
			break
		}
	}
	for deadline := time.Now().Add(10 * time.Second); proxy.Dropped() < 2; { // "two" and "marker"
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d notifications, want 2", proxy.Dropped())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := wait(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a notification passed while dropping: %q, %v", got, err)
	}
	if err := listener.Ping(ctx); err != nil {
		t.Fatalf("ping through the dropping proxy: %v", err)
	}
	var one int
	if err := listener.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query through the dropping proxy: %d, %v", one, err)
	}
	proxy.DropNotifications(false)
	notify("three")
	if got, err := wait(10 * time.Second); err != nil || got != "three" {
		t.Fatalf("forwarded again: %q, %v", got, err)
	}
}
