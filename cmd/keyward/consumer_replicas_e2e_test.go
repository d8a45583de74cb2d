package main

// A consumer's change reaches every replica's cached tokens of its keys at once: two
// replicas on one PostgreSQL, the token cache on, the real Keycloak. B reads Keycloak's
// events once an hour and remembers keys for an hour, so that only the store's
// announcement can make it drop a token it cached. And a realm admin changing a key
// client (or its service account) in Keycloak's console drops its consumer's tokens
// within the events poll interval.

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
)

// consumerWithKey makes, through app, two ACL groups and a consumer in the first, and
// a key of it; all are deleted when t ends. It returns the consumer's id, the key and
// the groups.
func consumerWithKey(t *testing.T, app *running, carol adminAPI) (consID, key string, groups [2]string) {
	t.Helper()
	p := kctest.Unique("e2e-cr")
	groups = [2]string{p + "-a", p + "-b"}
	for _, g := range groups {
		carol.must(201, "POST", "/v1/acl-groups", map[string]string{"name": g})
	}
	consID = carol.must(201, "POST", "/v1/consumers", map[string]any{"name": p, "acl_groups": []string{groups[0]}}).body["id"].(string)
	t.Cleanup(func() {
		carol.do("DELETE", "/v1/consumers/"+consID+"?cascade=true", nil)
		ctx, tok := context.Background(), app.kc.AdminToken(t)
		if list, _ := app.kc.Admin.GetClients(ctx, tok, app.kc.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP("kw-keys-" + consID)}); len(list) > 0 {
			_ = app.kc.Admin.DeleteClient(ctx, tok, app.kc.Realm, *list[0].ID)
		}
		for _, g := range groups {
			carol.do("DELETE", "/v1/acl-groups/"+g, nil)
		}
	})
	key = carol.must(201, "POST", "/v1/keys", map[string]any{"name": "orders", "consumer": consID}).body["key"].(string)
	remember(key)
	return consID, key, groups
}

// cachedToken exchanges key at r until the token comes from the
// cache (the same token twice): it returns its acl_groups.
func cachedToken(t *testing.T, r *running, key string) []string {
	t.Helper()
	// Cached once two exchanges in a row give the same token; a drop meanwhile (another
	// owner's change followed from Keycloak's events) may keep the first one out.
	var claims map[string]any
	eventually(t, "the key's token served from the cache", func() bool {
		first, c := r.mustToken(t, key)
		again, _ := r.mustToken(t, key)
		claims = c
		return again == first
	})
	return strs(claims["acl_groups"])
}

func TestReplica_ConsumerDisabledOrRegroupedThroughA_BDropsItsCachedTokensAtOnce(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	cache := map[string]string{"KEYWARD_TOKEN_CACHE": "true", "KEYWARD_EVENTS_POLL_INTERVAL": "1h"}
	a, b := twoReplicas(t, kc, dsn, cache)
	carol := adminAPI{t: t, app: a, token: kc.Login(t, "carol")}
	consID, key, groups := consumerWithKey(t, a, carol)
	waitFor(t, "B says key notifications up", func() bool { return saysUp(t, b) })

	if got := cachedToken(t, b, key); !slices.Equal(got, groups[:1]) {
		t.Fatalf("acl_groups %v, want %v", got, groups[:1])
	}
	carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"enabled": false})
	disabled := time.Now()
	waitFor(t, "B refuses the key of the consumer disabled through A", func() bool {
		return b.exchange(t, key).status == http.StatusUnauthorized
	})
	t.Logf("B refused the key %v after A answered the disable", time.Since(disabled).Round(time.Millisecond))
	if got := forwardAuth(t, http.DefaultClient, "GET", b.url+"/v1/forward-auth", "X-API-Key", key); got.status != http.StatusUnauthorized {
		t.Fatalf("B at the door, the consumer disabled: %d", got.status)
	}

	carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"enabled": true})
	waitFor(t, "B exchanges the key of the consumer enabled again", func() bool {
		return b.exchange(t, key).status == http.StatusOK
	})
	if got := cachedToken(t, b, key); !slices.Equal(got, groups[:1]) {
		t.Fatalf("enabled again: acl_groups %v, want %v", got, groups[:1])
	}

	carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"acl_groups": []string{groups[1]}})
	waitFor(t, "B's token carries the groups set through A", func() bool {
		_, claims := b.mustToken(t, key)
		return slices.Equal(strs(claims["acl_groups"]), groups[1:])
	})
}

// A realm admin changes the key client's service account's groups, then disables the
// key client, in Keycloak: the token cached before each is no longer handed out once
// the events are read.
func TestTokenCache_KeyClientChangedInKeycloak_ConsumersTokensDropped(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_TOKEN_CACHE": "true", "KEYWARD_EVENTS_POLL_INTERVAL": fastPoll})
	carol := adminAPI{t: t, app: app, token: kc.Login(t, "carol")}
	consID, key, groups := consumerWithKey(t, app, carol)
	ctx := context.Background()
	list, err := kc.Admin.GetClients(ctx, kc.AdminToken(t), kc.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP("kw-keys-" + consID)})
	if err != nil || len(list) != 1 {
		t.Fatalf("key client: %v (%d)", err, len(list))
	}
	client := list[0]
	sa, err := kc.Admin.GetClientServiceAccount(ctx, kc.AdminToken(t), kc.Realm, *client.ID)
	if err != nil {
		t.Fatal(err)
	}
	kcGroups, err := kc.Admin.GetGroups(ctx, kc.AdminToken(t), kc.Realm, gocloak.GetGroupsParams{Search: gocloak.StringP(groups[1])})
	if err != nil {
		t.Fatal(err)
	}
	groupID := findGroupID(kcGroups, groups[1])
	if groupID == "" {
		t.Fatalf("group %s not found in Keycloak", groups[1])
	}

	if got := cachedToken(t, app, key); !slices.Equal(got, groups[:1]) {
		t.Fatalf("acl_groups %v, want %v", got, groups[:1])
	}
	if err := kc.Admin.AddUserToGroup(ctx, kc.AdminToken(t), kc.Realm, *sa.ID, groupID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the group added in Keycloak in the handed-out token", func() bool {
		_, claims := app.mustToken(t, key)
		return slices.Equal(strs(claims["acl_groups"]), groups[:])
	})

	cachedToken(t, app, key)
	client.Enabled = gocloak.BoolP(false)
	if err := kc.Admin.UpdateClient(ctx, kc.AdminToken(t), kc.Realm, *client); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Enabled = gocloak.BoolP(true)
		_ = kc.Admin.UpdateClient(ctx, kc.AdminToken(t), kc.Realm, *client)
	})
	eventually(t, "the key client disabled in Keycloak: its cached token no longer handed out", func() bool {
		return app.exchange(t, key).status == http.StatusUnauthorized
	})
}

// findGroupID finds a group by name among groups and their subgroups.
func findGroupID(groups []*gocloak.Group, name string) string {
	for _, g := range groups {
		if g.Name != nil && *g.Name == name && g.ID != nil {
			return *g.ID
		}
		if g.SubGroups != nil {
			for i := range *g.SubGroups {
				if id := findGroupID([]*gocloak.Group{&(*g.SubGroups)[i]}, name); id != "" {
					return id
				}
			}
		}
	}
	return ""
}
