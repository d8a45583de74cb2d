package main

// Consumer keys end to end on the real Keycloak: an admin makes a key for a consumer;
// it is exchanged, at /v1/token and at the door, for a token Keycloak issues to the
// consumer's service account (its key client, authenticated by an assertion Keyward
// signs), carrying the consumer's ACL groups and no role; and what an attacker would
// try is refused.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

func TestConsumerKeys_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	app := startApp(t, kc, "")
	ctx := context.Background()
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	p := "e2e-ck-" + hex.EncodeToString(buf)
	carol := adminAPI{t: t, app: app, token: kc.Login(t, "carol")}
	alice := adminAPI{t: t, app: app, token: kc.Login(t, "alice")}
	gA, gB := p+"-a", p+"-b"
	for _, g := range []string{gA, gB} {
		carol.must(201, "POST", "/v1/acl-groups", map[string]string{"name": g})
	}
	cons := carol.must(201, "POST", "/v1/consumers", map[string]any{"name": p + "-shop", "acl_groups": []string{gA}})
	consID := cons.body["id"].(string)
	keyClientID := "kw-keys-" + consID
	t.Cleanup(func() { // what a failed run leaves: the consumer (and its key client), its groups
		carol.do("DELETE", "/v1/consumers/"+consID+"?cascade=true", nil)
		tok := kc.AdminToken(t)
		if list, _ := kc.Admin.GetClients(ctx, tok, kc.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(keyClientID)}); len(list) > 0 {
			_ = kc.Admin.DeleteClient(ctx, tok, kc.Realm, *list[0].ID)
		}
		for _, g := range []string{gA, gB} {
			carol.do("DELETE", "/v1/acl-groups/"+g, nil)
		}
	})

	// A user may not make one, nor make one while naming someone else too.
	wantProblem(t, alice.do("POST", "/v1/keys", map[string]any{"name": "steal", "consumer": p + "-shop"}), 403, "admins")
	for _, body := range []map[string]any{{"name": "x", "consumer": "no-such-consumer"}, {"name": "x", "consumer": p + "-shop", "owner": "alice"}} {
		got := carol.do("POST", "/v1/keys", body)
		wantProblem(t, got, 400)
		if !strings.Contains(got.raw, `"field":"consumer"`) {
			t.Fatalf("%v: %s", body, got.raw)
		}
	}

	created := carol.must(201, "POST", "/v1/keys", map[string]any{"name": "orders", "consumer": p + "-shop"})
	keyID, key := created.body["id"].(string), created.body["key"].(string)
	remember(key)
	ref, _ := created.body["consumer"].(map[string]any)
	if created.body["owner_type"] != "consumer" || ref["id"] != consID || ref["name"] != p+"-shop" {
		t.Fatalf("created %v", created.body)
	}
	client := kc.Admin
	kcClient := func() *gocloak.Client {
		list, err := client.GetClients(ctx, kc.AdminToken(t), kc.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(keyClientID)})
		if err != nil || len(list) != 1 {
			t.Fatalf("key client %s: %v (%d)", keyClientID, err, len(list))
		}
		return list[0]
	}
	saID := func() string {
		sa, err := client.GetClientServiceAccount(ctx, kc.AdminToken(t), kc.Realm, *kcClient().ID)
		if err != nil {
			t.Fatal(err)
		}
		return *sa.ID
	}()
	if c := kcClient(); *c.ClientAuthenticatorType != "client-jwt" || *c.FullScopeAllowed {
		t.Fatalf("key client authenticator %s, full scope %v", *c.ClientAuthenticatorType, *c.FullScopeAllowed)
	}

	// The token is the consumer's service account's, with its groups and no role.
	checkToken := func(t *testing.T, claims map[string]any, groups ...string) {
		t.Helper()
		if claims["sub"] != saID || claims["azp"] != keyClientID {
			t.Fatalf("sub %v azp %v, want %s %s", claims["sub"], claims["azp"], saID, keyClientID)
		}
		if got := strs(claims["acl_groups"]); !slices.Equal(got, groups) {
			t.Fatalf("acl_groups %v, want %v", got, groups)
		}
		if claims["realm_access"] != nil || claims["resource_access"] != nil {
			t.Fatalf("roles in a consumer key's token: %v %v", claims["realm_access"], claims["resource_access"])
		}
	}
	tok, claims := app.mustToken(t, key)
	checkToken(t, claims, gA)
	grantedToken(t, "door", forwardAuth(t, http.DefaultClient, "GET", app.url+"/v1/forward-auth", "X-API-Key", key))

	t.Run("TheServiceAccountsToken_RefusedByTheManagementAPI", func(t *testing.T) {
		got := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+tok)
		if got.status != 401 && got.status != 403 {
			t.Fatalf("the consumer's token at /v1/keys: %d %s", got.status, got.raw)
		}
		t.Logf("the consumer's token at /v1/keys: %d", got.status)
	})

	t.Run("UsersNeverSeeIt_AdminsListIt", func(t *testing.T) {
		alice.must(404, "GET", "/v1/keys/"+keyID, nil)
		alice.must(404, "PATCH", "/v1/keys/"+keyID, map[string]any{"enabled": false})
		alice.must(404, "DELETE", "/v1/keys/"+keyID, nil)
		alice.must(404, "POST", "/v1/keys/"+keyID+"/rotate", nil)
		wantProblem(t, alice.do("GET", "/v1/keys?consumer="+p+"-shop", nil), 403, "admins")
		if strings.Contains(alice.must(200, "GET", "/v1/keys?limit=100", nil).raw, keyID) {
			t.Fatal("a user's list shows a consumer key")
		}
		for _, name := range []string{p + "-shop", consID} {
			items := carol.must(200, "GET", "/v1/keys?consumer="+name, nil).body["items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["id"] != keyID {
				t.Fatalf("consumer %s's keys: %v", name, items)
			}
		}
	})

	t.Run("GroupsChanged_NextTokenFollows", func(t *testing.T) {
		carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"acl_groups": []string{gA, gB}})
		_, claims := app.mustToken(t, key)
		checkToken(t, claims, gA, gB)
		carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"acl_groups": []string{gB}})
		_, claims = app.mustToken(t, key)
		checkToken(t, claims, gB)
	})

	t.Run("DisabledKey_Refused_EnabledWorks", func(t *testing.T) {
		carol.must(200, "PATCH", "/v1/keys/"+keyID, map[string]any{"enabled": false})
		if got := app.exchange(t, key); got.status != 401 {
			t.Fatalf("a disabled consumer key: %d", got.status)
		}
		carol.must(200, "PATCH", "/v1/keys/"+keyID, map[string]any{"enabled": true})
		app.mustToken(t, key)
	})

	t.Run("KeyClientDisabledInKeycloak_Refused", func(t *testing.T) {
		c := kcClient()
		c.Enabled = gocloak.BoolP(false)
		if err := client.UpdateClient(ctx, kc.AdminToken(t), kc.Realm, *c); err != nil {
			t.Fatal(err)
		}
		got := app.exchange(t, key)
		c.Enabled = gocloak.BoolP(true)
		if err := client.UpdateClient(ctx, kc.AdminToken(t), kc.Realm, *c); err != nil {
			t.Fatal(err)
		}
		if got.status != 401 {
			t.Fatalf("the key client disabled: %d %s", got.status, got.raw)
		}
	})

	// A disabled consumer's keys are refused at once (the token cached a moment before
	// included), at /v1/token and at the door, and its key client is disabled in Keycloak;
	// so are its OAuth clients.
	t.Run("ConsumerDisabled_KeysRefused_EnabledWorks", func(t *testing.T) {
		wantProblem(t, alice.do("PATCH", "/v1/consumers/"+consID, map[string]any{"enabled": false}), 403)
		oc := carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{})
		ocID, ocClientID, ocSecret := oc.body["id"].(string), oc.body["client_id"].(string), oc.body["secret"].(string)
		remember(ocSecret)
		defer carol.must(204, "DELETE", "/v1/clients/"+ocID, nil)
		grant := func() reply {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {ocClientID}, "client_secret": {ocSecret}}
			return call(t, "POST", kc.Issuer()+"/protocol/openid-connect/token", strings.NewReader(form.Encode()),
				"Content-Type", "application/x-www-form-urlencoded")
		}
		if got := grant(); got.status != 200 {
			t.Fatalf("the OAuth client: %d %s", got.status, got.raw)
		}
		app.mustToken(t, key) // cached now
		if got := carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"enabled": false}); got.body["enabled"] != false {
			t.Fatalf("disabled: %v", got.body)
		}
		if got := app.exchange(t, key); got.status != 401 {
			t.Fatalf("a disabled consumer's key at /v1/token: %d %s", got.status, got.raw)
		}
		if got := forwardAuth(t, http.DefaultClient, "GET", app.url+"/v1/forward-auth", "X-API-Key", key); got.status != 401 {
			t.Fatalf("a disabled consumer's key at the door: %d", got.status)
		}
		if c := kcClient(); c.Enabled == nil || *c.Enabled {
			t.Fatal("the key client is enabled in Keycloak")
		}
		if got := carol.must(200, "GET", "/v1/consumers/"+consID, nil); got.body["enabled"] != false {
			t.Fatalf("read back: %v", got.body)
		}
		refused := grant()
		if refused.status != 400 && refused.status != 401 {
			t.Fatalf("a disabled consumer's OAuth client: %d %s", refused.status, refused.raw)
		}
		t.Logf("a disabled consumer's OAuth client at Keycloak: %d %s", refused.status, refused.raw)
		audit := carol.must(200, "GET", "/v1/audit?target_id="+consID, nil).raw
		if !strings.Contains(audit, `"consumer.update"`) || !strings.Contains(audit, `"enabled":false`) {
			t.Fatalf("audit: %s", audit)
		}
		if got := carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"enabled": true}); got.body["enabled"] != true {
			t.Fatalf("enabled: %v", got.body)
		}
		_, claims := app.mustToken(t, key)
		checkToken(t, claims, gB)
		grantedToken(t, "door, enabled again", forwardAuth(t, http.DefaultClient, "GET", app.url+"/v1/forward-auth", "X-API-Key", key))
		if c := kcClient(); c.Enabled == nil || !*c.Enabled {
			t.Fatal("the key client is still disabled in Keycloak")
		}
		if got := grant(); got.status != 200 {
			t.Fatalf("the OAuth client, enabled again: %d %s", got.status, got.raw)
		}
	})

	t.Run("ScopesAllowlistAudit_AsForPersonalKeys", func(t *testing.T) {
		scoped := carol.must(201, "POST", "/v1/keys", map[string]any{"name": "scoped", "consumer": consID, "scopes": []string{"profile"}})
		k := scoped.body["key"].(string)
		remember(k)
		got := exchangeForm(t, app, k, "profile")
		if got.status != 200 || !strings.Contains(got.body["scope"].(string), "profile") {
			t.Fatalf("a scope of the key: %d %s", got.status, got.raw)
		}
		if got := exchangeForm(t, app, k, "email"); got.status != 400 {
			t.Fatalf("a scope beyond the key: %d %s", got.status, got.raw)
		}
		fenced := carol.must(201, "POST", "/v1/keys", map[string]any{"name": "fenced", "consumer": consID, "ip_allowlist": []string{"192.0.2.0/24"}})
		remember(fenced.body["key"].(string))
		if got := app.exchange(t, fenced.body["key"].(string)); got.status != 401 {
			t.Fatalf("from outside the allowlist: %d", got.status)
		}
		events := carol.must(200, "GET", "/v1/audit?key="+scoped.body["id"].(string), nil)
		if !strings.Contains(events.raw, `"key.create"`) || !strings.Contains(events.raw, `"carol"`) {
			t.Fatalf("audit of a consumer key: %s", events.raw)
		}
		for _, id := range []string{scoped.body["id"].(string), fenced.body["id"].(string)} {
			carol.must(204, "DELETE", "/v1/keys/"+id, nil)
		}
	})

	var rotated string
	t.Run("Rotation_KeepsItTheConsumers", func(t *testing.T) {
		next := carol.must(201, "POST", "/v1/keys/"+keyID+"/rotate", map[string]any{"grace_period_hours": 1})
		rotated = next.body["key"].(string)
		remember(rotated)
		if next.body["owner_type"] != "consumer" || next.body["consumer"].(map[string]any)["id"] != consID {
			t.Fatalf("rotated %v", next.body)
		}
		_, claims := app.mustToken(t, rotated)
		checkToken(t, claims, gB)
		app.mustToken(t, key) // in its grace period
	})

	t.Run("ConsumerDeleted_KeysRevoked_KeyClientGone", func(t *testing.T) {
		carol.must(204, "DELETE", "/v1/consumers/"+consID, nil)
		for _, k := range []string{key, rotated} {
			if got := app.exchange(t, k); got.status != 401 {
				t.Fatalf("a deleted consumer's key: %d %s", got.status, got.raw)
			}
		}
		carol.must(404, "GET", "/v1/keys/"+keyID, nil)
		list, err := client.GetClients(ctx, kc.AdminToken(t), kc.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(keyClientID)})
		if err != nil || len(list) != 0 {
			t.Fatalf("the key client is left: %v (%d)", err, len(list))
		}
	})
}
