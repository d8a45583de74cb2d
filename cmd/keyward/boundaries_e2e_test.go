package main

// The trust boundaries (DESIGN.md "Trust boundaries"), tried on the real Keycloak as
// an attacker would: a Keyward admin, a key holder, a service account, a client of
// the realm that is not Keyward's — and variants. Each throw-away user, client and
// group is removed when its test ends, so the dev users stay as they are.

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

func jsonPost(t *testing.T, url, token, body string) reply {
	t.Helper()
	return call(t, "POST", url, strings.NewReader(body), "Authorization", "Bearer "+token, "Content-Type", "application/json")
}

func clientRoles(claims map[string]any) map[string][]string {
	out := map[string][]string{}
	ra, _ := claims["resource_access"].(map[string]any)
	for c, v := range ra {
		m, _ := v.(map[string]any)
		out[c] = kctest.Strings(m["roles"])
	}
	return out
}

func TestBoundaries(t *testing.T) {
	kc := kctest.Require(t)
	app := startApp(t, kc, "")
	t.Run("ExchangeClient_HasNoServiceAccount", func(t *testing.T) { testExchangeClientPowerless(t, app) })
	t.Run("RealmManagementRole_OutsideTheExchangeScope", func(t *testing.T) { testRealmScoping(t, app) })
	t.Run("FullScopeRealm_TokenWithheld", func(t *testing.T) { testDenylistFailClosed(t, kc) })
	t.Run("ServiceAccount_NeverOwnsAKey", func(t *testing.T) { testServiceAccountOwner(t, app) })
	t.Run("ServiceAccountKey_FromBefore_StopsExchanging", func(t *testing.T) { testServiceAccountLegacyKey(t, app) })
	t.Run("ServiceAccountToken_403", func(t *testing.T) { testServiceAccountToken(t, app) })
	t.Run("NoUpwardImpersonation", func(t *testing.T) { testUpward(t, app) })
	t.Run("ForeignAudience_401", func(t *testing.T) { testAudience(t, app) })
	t.Run("AdminDecisionsStick", func(t *testing.T) { testAdminDecisions(t, app) })
	t.Run("ForgedKeys_ThrottledPerAddress", func(t *testing.T) { testFailureThrottle(t, kc) })
}

// Forged, well-formed keys from one address spend its budget and then get 429 with
// Retry-After; a valid key from another address is not slowed.
func testFailureThrottle(t *testing.T, kc *kctest.Env) {
	app := startAppWith(t, kc, map[string]string{"KEYWARD_EXCHANGE_FAILURE_BUDGET": "5", "KEYWARD_EXCHANGE_FAILURE_WINDOW": "1h"})
	_, key := app.createKey(t, kc.Login(t, "alice"), "throttle")
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
	}
	exchangeFrom := func(c *http.Client, k string) *http.Response {
		req, _ := http.NewRequest("POST", app.url+"/v1/token", nil)
		req.Header.Set("X-API-Key", k)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	attacker, user := from("127.0.0.3"), from("127.0.0.2")
	for i := 0; i < 5; i++ {
		forged, _ := exchange.GenerateKey(exchange.EnvLive)
		if got := exchangeFrom(attacker, forged.String()); got.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged key %d: %d", i, got.StatusCode)
		}
	}
	forged, _ := exchange.GenerateKey(exchange.EnvLive)
	got := exchangeFrom(attacker, forged.String())
	if got.StatusCode != http.StatusTooManyRequests || got.Header.Get("Retry-After") == "" {
		t.Fatalf("past the budget: %d, Retry-After %q", got.StatusCode, got.Header.Get("Retry-After"))
	}
	for i := 0; i < 3; i++ {
		if got := exchangeFrom(user, key); got.StatusCode != http.StatusOK {
			t.Fatalf("a valid key from another address: %d", got.StatusCode)
		}
	}
}

// The client exchanged tokens are issued to has no service account: its secret alone
// gets no token, let alone an admin one; and an exchanged token cannot call the admin API.
func testExchangeClientPowerless(t *testing.T, app *running) {
	kc := app.kc
	if _, err := kc.Admin.LoginClient(context.Background(), kc.ClientID, kc.ClientSecret, kc.Realm); err == nil {
		t.Fatal("the exchange client got a client-credentials token")
	}
	_, key := app.createKey(t, kc.Login(t, "alice"), "powerless")
	tok, claims := app.mustToken(t, key)
	if claims["azp"] != kc.ClientID || len(clientRoles(claims)["realm-management"]) != 0 {
		t.Fatalf("azp %v, realm-management roles %v", claims["azp"], clientRoles(claims)["realm-management"])
	}
	got := call(t, "GET", kc.URL+"/admin/realms/"+kc.Realm+"/users", nil, "Authorization", "Bearer "+tok)
	if got.status != http.StatusForbidden && got.status != http.StatusUnauthorized {
		t.Fatalf("Keycloak's admin API answered %d to an exchanged token", got.status)
	}
}

// A user who holds realm-management roles (directly and through a group) still gets a
// token for their own key from the dev realm, without those roles: they are outside
// the exchange client's scope.
func testRealmScoping(t *testing.T, app *running) {
	kc := app.kc
	id, name := kc.TempUser(t, "scoped")
	kc.GrantClientRole(t, id, "realm-management", "view-users")
	g := kc.TempGroup(t, "", kctest.Unique("kw-admins"))
	kc.MapClientRoleToGroup(t, g, "realm-management", "manage-users")
	kc.AddToGroup(t, id, g)
	_, key := app.createKey(t, kc.Login(t, name), "scoped")
	_, claims := app.mustToken(t, key)
	if rm := clientRoles(claims)["realm-management"]; len(rm) != 0 {
		t.Fatalf("realm-management roles reached the exchanged token: %v", rm)
	}
}

// A realm whose exchange client has the full scope would put realm-management roles
// into the token: Keyward withholds it (401 invalid_grant, outcome denied_role), and
// still serves a plain user.
func testDenylistFailClosed(t *testing.T, kc *kctest.Env) {
	clientID := kctest.Unique("kw-fullscope")
	kc.TempClient(t, gocloak.Client{
		ClientID: gocloak.StringP(clientID), Enabled: gocloak.BoolP(true), Protocol: gocloak.StringP("openid-connect"),
		PublicClient: gocloak.BoolP(false), ClientAuthenticatorType: gocloak.StringP("client-secret"),
		Secret: gocloak.StringP("fullscope-secret"), FullScopeAllowed: gocloak.BoolP(true),
		StandardFlowEnabled: gocloak.BoolP(false), DirectAccessGrantsEnabled: gocloak.BoolP(false),
		Attributes: &map[string]string{
			"oauth2.jwt.authorization.grant.enabled": "true", "oauth2.jwt.authorization.grant.idp": "keyward",
		},
	})
	app := startAppWith(t, kc, map[string]string{"KEYWARD_CLIENT_ID": clientID, "KEYWARD_CLIENT_SECRET": "fullscope-secret",
		"KEYWARD_AUDIENCE": "keyward"})

	plainID, plain := kc.TempUser(t, "plain")
	_, key := app.createKey(t, kc.Login(t, plain), "plain")
	if _, claims := app.mustToken(t, key); claims["sub"] != plainID {
		t.Fatalf("sub %v", claims["sub"])
	}

	for _, variant := range []struct {
		name  string
		grant func(id string)
	}{
		{"direct client role", func(id string) { kc.GrantClientRole(t, id, "realm-management", "query-groups") }},
		{"through a group", func(id string) {
			g := kc.TempGroup(t, "", kctest.Unique("kw-viewers"))
			kc.MapClientRoleToGroup(t, g, "realm-management", "view-realm")
			kc.AddToGroup(t, id, g)
		}},
		{"Keyward's admin role", func(id string) {
			role, err := kc.Admin.GetRealmRole(context.Background(), kc.AdminToken(t), kc.Realm, "keyward-admin")
			if err != nil {
				t.Fatal(err)
			}
			if err := kc.Admin.AddRealmRoleToUser(context.Background(), kc.AdminToken(t), kc.Realm, id, []gocloak.Role{*role}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			id, name := kc.TempUser(t, "powerful")
			_, key := app.createKey(t, kc.Login(t, name), "powerful")
			app.mustToken(t, key) // nothing denied yet
			variant.grant(id)
			before := strings.Count(app.logs.String(), `"outcome":"denied_role"`)
			got := app.exchange(t, key)
			if got.status != http.StatusUnauthorized || got.body["error"] != "invalid_grant" || strings.Contains(got.raw, "access_token") {
				t.Fatalf("a token with a denied role: %d %s", got.status, got.raw)
			}
			if strings.Count(app.logs.String(), `"outcome":"denied_role"`) <= before {
				t.Fatal("the log does not say denied_role")
			}
		})
	}
}

func testServiceAccountOwner(t *testing.T, app *running) {
	kc := app.kc
	carol := kc.Login(t, "carol")
	saID := kc.UserID(t, "service-account-"+kc.AdminClientID)
	for _, owner := range []string{"service-account-" + kc.AdminClientID, saID, strings.ToUpper("service-account-" + kc.AdminClientID)} {
		got := jsonPost(t, app.url+"/v1/keys", carol, `{"name":"sa","owner":"`+owner+`"}`)
		if got.status != http.StatusBadRequest || !strings.Contains(got.raw, "service account") {
			t.Fatalf("owner %s: %d %s", owner, got.status, got.raw)
		}
	}
	// A person whose username merely looks like a service account's is a person.
	_, lookalike := kc.TempUser(t, "service-account-lookalike")
	if got := jsonPost(t, app.url+"/v1/keys", carol, `{"name":"person","owner":"`+lookalike+`"}`); got.status != http.StatusCreated {
		t.Fatalf("a person named like a service account: %d %s", got.status, got.raw)
	}
	keys, err := app.store.ListKeys(context.Background(), models.KeyFilter{OwnerID: saID, Now: time.Now(), Limit: 10})
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys of the service account: %d (%v)", len(keys), err)
	}
}

// A key a service account held before this rule (written straight into the store,
// linked at Keycloak as a creation would have) exchanges no more.
func testServiceAccountLegacyKey(t *testing.T, app *running) {
	kc := app.kc
	clientID := kctest.Unique("kw-legacy")
	id := kc.TempClient(t, gocloak.Client{
		ClientID: gocloak.StringP(clientID), Enabled: gocloak.BoolP(true), PublicClient: gocloak.BoolP(false),
		ServiceAccountsEnabled: gocloak.BoolP(true), Secret: gocloak.StringP("legacy-secret"),
	})
	sa, err := kc.Admin.GetClientServiceAccount(context.Background(), kc.AdminToken(t), kc.Realm, id)
	if err != nil {
		t.Fatal(err)
	}
	pepper := strings.Repeat("p", 32)
	app = startAppWith(t, kc, map[string]string{"KEYWARD_KEY_PEPPER": pepper})
	kcl := keycloak.New(keycloak.Config{BaseURL: kc.URL, Realm: kc.Realm, ClientID: kc.ClientID, ClientSecret: kc.ClientSecret,
		AdminClientID: kc.AdminClientID, AdminClientSecret: kc.AdminClientSecret})
	if err := kcl.EnsureFederatedLink(context.Background(), *sa.ID, *sa.Username, "keyward", *sa.ID); err != nil {
		t.Fatalf("link: %v", err)
	}
	hasher, err := exchange.NewHasher([]byte(pepper))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := exchange.GenerateKey(exchange.EnvLive)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	row := models.Key{OwnerID: *sa.ID, OwnerUsername: *sa.Username, Name: "legacy", LookupID: parsed.LookupID,
		SecretHash: hasher.Hash(parsed.Secret), Environment: "production", Enabled: true, CreatedAt: now}
	if err := app.store.CreateKeyCapped(context.Background(), &row, 50, now); err != nil {
		t.Fatal(err)
	}
	key := parsed.String()
	remember(key)
	got := app.exchange(t, key)
	if got.status != http.StatusUnauthorized || strings.Contains(got.raw, "access_token") {
		t.Fatalf("a service account's key exchanged: %d %s", got.status, got.raw)
	}
	// Keycloak does issue a token for a linked service-account user through the JWT
	// grant: it is Keyward that withholds it.
	if !strings.Contains(app.logs.String(), `"outcome":"owner_not_person"`) {
		t.Fatal("the log does not say owner_not_person")
	}
}

func testServiceAccountToken(t *testing.T, app *running) {
	kc := app.kc
	// A client whose tokens carry Keyward's audience: only the service-account rule stops it.
	clientID := kctest.Unique("kw-robot")
	kc.TempClient(t, gocloak.Client{
		ClientID: gocloak.StringP(clientID), Enabled: gocloak.BoolP(true), PublicClient: gocloak.BoolP(false),
		ServiceAccountsEnabled: gocloak.BoolP(true), Secret: gocloak.StringP("robot-secret"),
		ProtocolMappers: &[]gocloak.ProtocolMapperRepresentation{kctest.AudienceMapper(kc.ClientID)},
	})
	robot := kc.ClientCredentials(t, clientID, "robot-secret")
	if aud := kctest.Strings(kctest.Claims(t, robot)["aud"]); !slices.Contains(aud, kc.ClientID) {
		if kctest.Claims(t, robot)["aud"] != kc.ClientID {
			t.Fatalf("the robot's token lacks the audience the test relies on: %v", kctest.Claims(t, robot)["aud"])
		}
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/keys", `{"name":"robot","never_expires":true}`}, {"GET", "/v1/keys", ""}, {"GET", "/v1/audit", ""},
	} {
		var body *strings.Reader
		if r.body != "" {
			body = strings.NewReader(r.body)
		} else {
			body = strings.NewReader("")
		}
		got := call(t, r.method, app.url+r.path, body, "Authorization", "Bearer "+robot, "Content-Type", "application/json")
		if got.status != http.StatusForbidden || !strings.Contains(got.raw, "service-account") {
			t.Fatalf("%s %s with a client-credentials token: %d %s", r.method, r.path, got.status, got.raw)
		}
	}
	// Keyward's own admin client, the most powerful service account of all.
	mgmt := kc.ClientCredentials(t, kc.AdminClientID, kc.AdminClientSecret)
	if got := jsonPost(t, app.url+"/v1/keys", mgmt, `{"name":"x"}`); got.status != http.StatusUnauthorized && got.status != http.StatusForbidden {
		t.Fatalf("the management client's token: %d %s", got.status, got.raw)
	}
}

func testUpward(t *testing.T, app *running) {
	kc := app.kc
	carol := kc.Login(t, "carol")
	upward := []struct {
		name  string
		grant func(id string)
		role  string
	}{
		// view-users is a composite (query-users, query-groups): any of them is named.
		{"realm-management role", func(id string) { kc.GrantClientRole(t, id, "realm-management", "view-users") }, "realm-management:"},
		{"realm-management through a group", func(id string) {
			g := kc.TempGroup(t, "", kctest.Unique("kw-ops"))
			kc.MapClientRoleToGroup(t, g, "realm-management", "manage-clients")
			kc.AddToGroup(t, id, g)
		}, "realm-management:"},
		{"composite realm role holding realm-admin", func(id string) {
			r := kc.TempRealmRole(t, kctest.Unique("kw-boss"))
			_, admin := kc.ClientRole(t, "realm-management", "realm-admin")
			if err := kc.Admin.AddRealmRoleComposite(context.Background(), kc.AdminToken(t), kc.Realm, *r.Name, []gocloak.Role{admin}); err != nil {
				t.Fatal(err)
			}
			if err := kc.Admin.AddRealmRoleToUser(context.Background(), kc.AdminToken(t), kc.Realm, id, []gocloak.Role{r}); err != nil {
				t.Fatal(err)
			}
		}, "realm-management:"},
		{"another Keyward admin", func(id string) {
			role, _ := kc.Admin.GetRealmRole(context.Background(), kc.AdminToken(t), kc.Realm, "keyward-admin")
			if err := kc.Admin.AddRealmRoleToUser(context.Background(), kc.AdminToken(t), kc.Realm, id, []gocloak.Role{*role}); err != nil {
				t.Fatal(err)
			}
		}, "keyward-admin"},
	}
	for _, u := range upward {
		t.Run(u.name, func(t *testing.T) {
			id, name := kc.TempUser(t, "upward")
			// Before the grant: the admin may rotate the user's key.
			_, own := app.createKey(t, kc.Login(t, name), "own")
			ownID := app.keyID(t, kc.Login(t, name), own)
			u.grant(id)
			got := jsonPost(t, app.url+"/v1/keys", carol, `{"name":"escalate","owner":"`+name+`"}`)
			if got.status != http.StatusForbidden || !strings.Contains(got.raw, u.role) || !strings.Contains(got.raw, "denylist") {
				t.Fatalf("create for an upward user: %d %s", got.status, got.raw)
			}
			got = jsonPost(t, app.url+"/v1/keys/"+ownID+"/rotate", carol, `{}`)
			if got.status != http.StatusForbidden || !strings.Contains(got.raw, "rotate") {
				t.Fatalf("rotate for an upward user: %d %s", got.status, got.raw)
			}
		})
	}
	// A plain user: allowed, audited on their behalf, visible to them.
	id, name := kc.TempUser(t, "plain")
	got := jsonPost(t, app.url+"/v1/keys", carol, `{"name":"from-carol","owner":"`+name+`"}`)
	if got.status != http.StatusCreated {
		t.Fatalf("create for a plain user: %d %s", got.status, got.raw)
	}
	remember(got.body["key"].(string))
	audit := call(t, "GET", app.url+"/v1/audit", nil, "Authorization", "Bearer "+kc.Login(t, name))
	items, _ := audit.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["on_behalf_of"] != id || items[0].(map[string]any)["actor_name"] != "carol" {
		t.Fatalf("the owner's audit view: %s", audit.raw)
	}
}

func testAudience(t *testing.T, app *running) {
	kc := app.kc
	clientID := kctest.Unique("kw-other-app")
	kc.TempClient(t, gocloak.Client{
		ClientID: gocloak.StringP(clientID), Enabled: gocloak.BoolP(true), PublicClient: gocloak.BoolP(true),
		DirectAccessGrantsEnabled: gocloak.BoolP(true), StandardFlowEnabled: gocloak.BoolP(false),
	})
	_, name := kc.TempUser(t, "aud")
	foreign := kc.LoginVia(t, clientID, name)
	got := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+foreign)
	if got.status != http.StatusUnauthorized || !strings.Contains(got.raw, `audience`) || !strings.Contains(got.raw, `\"keyward\"`) {
		t.Fatalf("a token meant for another client: %d %s", got.status, got.raw)
	}
	if got := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+kc.Login(t, name)); got.status != http.StatusOK {
		t.Fatalf("the CLI client's token: %d %s", got.status, got.raw)
	}
}

func testAdminDecisions(t *testing.T, app *running) {
	kc := app.kc
	_, name := kc.TempUser(t, "decided")
	owner := kc.Login(t, name)
	id, key := app.createKey(t, owner, "ci")
	carol := kc.Login(t, "carol")
	patch := func(token, body string) reply {
		return call(t, "PATCH", app.url+"/v1/keys/"+id, strings.NewReader(body), "Authorization", "Bearer "+token, "Content-Type", "application/json")
	}
	if got := patch(carol, `{"enabled":false,"ip_allowlist":["192.0.2.0/24"]}`); got.status != http.StatusOK {
		t.Fatalf("admin patch: %d %s", got.status, got.raw)
	}
	for _, body := range []string{`{"enabled":true}`, `{"ip_allowlist":[]}`, `{"ip_allowlist":["127.0.0.1"]}`} {
		if got := patch(owner, body); got.status != http.StatusForbidden || !strings.Contains(got.raw, "carol") {
			t.Fatalf("owner undoing the admin (%s): %d %s", body, got.status, got.raw)
		}
	}
	if got := app.exchange(t, key); got.status != http.StatusUnauthorized {
		t.Fatalf("the disabled key: %d", got.status)
	}
	if got := patch(carol, `{"enabled":true,"ip_allowlist":[]}`); got.status != http.StatusOK {
		t.Fatalf("admin undoing: %d %s", got.status, got.raw)
	}
	app.mustToken(t, key)
}

// --- helpers ---------------------------------------------------------------------

func (r *running) keyID(t *testing.T, token, key string) string {
	t.Helper()
	p, err := exchange.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	got := call(t, "GET", r.url+"/v1/keys?limit=100", nil, "Authorization", "Bearer "+token)
	for _, it := range got.body["items"].([]any) {
		m := it.(map[string]any)
		if m["prefix"] == p.Prefix() {
			return m["id"].(string)
		}
	}
	t.Fatalf("key %s not listed", p.Prefix())
	return ""
}
