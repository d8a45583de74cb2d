package main

import (
	"context"
	"net/http"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

// TestTokenCache_RoleRemovedOrUserDisabled_GoneWithinThePollInterval: with the token cache on, a role
// removed in Keycloak is gone from the token Keyward hands out once the follower has
// read the admin event, as docs/administering/audit.md states. The time each run
// took is logged (the figures in docs/administering/audit.md); the assertion is only that it happens, and
// that the token before the removal came from the cache (else nothing is shown).
func TestTokenCache_RoleRemovedOrUserDisabled_GoneWithinThePollInterval(t *testing.T) {
	kc := kctest.Require(t)
	poll := "1s"
	if v := os.Getenv("KEYWARD_TEST_ROLE_BOUND_POLL"); v != "" { // to measure other intervals by hand
		poll = v
	}
	app := startAppWith(t, kc, map[string]string{"KEYWARD_TOKEN_CACHE": "true", "KEYWARD_EVENTS_POLL_INTERVAL": poll})
	ctx := context.Background()
	userID, username := kc.TempUser(t, "kw-ev-cache")
	role := kc.TempRealmRole(t, "kw-ev-cache-role-"+userID[:8])
	kc.AddToExchangeScope(t, kc.ClientID, role)
	_, key := app.createKey(t, kc.Login(t, username), "cache")
	var took []time.Duration
	for run := range 5 {
		if err := kc.Admin.AddRealmRoleToUser(ctx, kc.AdminToken(t), kc.Realm, userID, []gocloak.Role{role}); err != nil {
			t.Fatal(err)
		}
		var first string
		eventually(t, "the granted role in a cached token", func() bool {
			tok, claims := app.mustToken(t, key)
			again, _ := app.mustToken(t, key)
			first = tok
			return slices.Contains(kctest.RealmRoles(claims), *role.Name) && again == tok
		})
		if err := kc.Admin.DeleteRealmRoleFromUser(ctx, kc.AdminToken(t), kc.Realm, userID, []gocloak.Role{role}); err != nil {
			t.Fatal(err)
		}
		removed := time.Now()
		served := 0
		eventually(t, "the removed role gone from the token", func() bool {
			tok, claims := app.mustToken(t, key)
			if tok == first {
				served++
			}
			return !slices.Contains(kctest.RealmRoles(claims), *role.Name)
		})
		took = append(took, time.Since(removed))
		t.Logf("run %d: role gone from the handed-out token after %v (the cached token was served %d more times)", run+1,
			took[run].Round(10*time.Millisecond), served)
	}
	// A user disabled in Keycloak: their cached token is dropped too.
	app.mustToken(t, key)
	setEnabled(t, kc, userID, false)
	eventually(t, "a disabled user's cached token no longer handed out", func() bool {
		return app.exchange(t, key).status == http.StatusUnauthorized
	})
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("poll interval %s: role removal → token without it: min %v, median %v, max %v over %d runs",
		poll, took[0].Round(10*time.Millisecond), took[len(took)/2].Round(10*time.Millisecond),
		took[len(took)-1].Round(10*time.Millisecond), len(took))
}
