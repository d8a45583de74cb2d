package keycloak

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Every exchange that misses the cache posts to the token endpoint: the connection to
// Keycloak must be reused, not opened anew each time (a handshake per exchange), also
// when several run at once.
func TestJWTBearerGrant_ReusesConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"t","expires_in":300,"scope":"openid"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL, Realm: "r", ClientID: "keyward", ClientSecret: "s"})
	for range 50 {
		if _, err := c.JWTBearerGrant(context.Background(), "a", "openid"); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 50 grants one after the other, want 1", n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				_, _ = c.JWTBearerGrant(context.Background(), "a", "openid")
			}
		}()
	}
	wg.Wait()
	// A caller that waits starts a dial, which may outlive its need: a few more than
	// the callers, never one per grant.
	if n := conns.Load(); n > 17 {
		t.Fatalf("%d connections for 200 grants by 8 concurrent callers, want at most 17", n)
	}
}
