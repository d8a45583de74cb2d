package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
)

// A key traded at /v1/token and at the gateway's door: its usage report tells the
// routes apart, and its totals stay their sum, on either database.
func TestKeyUsage_SplitByRoute_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	for name, databaseURL := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" }, // the default, in the data directory
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			app := startAppWith(t, kc, map[string]string{
				"KEYWARD_DATABASE_URL":         databaseURL(t),
				"KEYWARD_USAGE_FLUSH_INTERVAL": "100ms",
			})
			alice := kc.Login(t, "alice")
			id, key := app.createKey(t, alice, "door-and-token")
			for range 2 {
				app.mustToken(t, key)
			}
			for i := range 3 {
				got := call(t, "GET", app.url+"/v1/forward-auth/reports/q1.csv", nil, "X-API-Key", key)
				if got.status != http.StatusOK || got.header.Get("Authorization") == "" {
					t.Fatalf("forward-auth %d: %d %s", i, got.status, got.raw)
				}
				remember(got.header.Get("Authorization"))
			}

			// The counters reach the database at the next flush: wait for all five.
			var period map[string]any
			for deadline := time.Now().Add(20 * time.Second); ; {
				got := call(t, "GET", app.url+"/v1/keys/"+id+"/usage?days=1", nil, "Authorization", "Bearer "+alice)
				if got.status != http.StatusOK {
					t.Fatalf("usage: %d %s", got.status, got.raw)
				}
				period, _ = got.body["period"].(map[string]any)
				if period["success"] == float64(5) || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			byVia, _ := period["by_via"].(map[string]any)
			token, _ := byVia["token"].(map[string]any)
			door, _ := byVia["forward_auth"].(map[string]any)
			if period["success"] != float64(5) || token["success"] != float64(2) || door["success"] != float64(3) {
				t.Fatalf("usage over the period: %v, want 5 = 2 token + 3 forward_auth", period)
			}
		})
	}
}
