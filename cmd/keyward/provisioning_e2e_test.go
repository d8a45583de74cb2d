package main

// Provisioning end to end: consumers, ACL groups and service-account clients through
// Keyward's admin API, checked against the real Keycloak (as its master-realm admin and
// through its token endpoint) and the real store, on PostgreSQL and SQLite.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// admin is a caller of the admin API: carol (realm role keyward-admin) or alice.
type adminAPI struct {
	t     *testing.T
	app   *running
	token string
}

func (a adminAPI) do(method, path string, body any, headers ...string) reply {
	a.t.Helper()
	var r *strings.Reader
	switch b := body.(type) {
	case nil:
		r = strings.NewReader("")
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = strings.NewReader(string(raw))
	}
	h := append([]string{"Authorization", "Bearer " + a.token, "Content-Type", "application/json"}, headers...)
	return call(a.t, method, a.app.url+path, r, h...)
}

func (a adminAPI) must(status int, method, path string, body any) reply {
	a.t.Helper()
	got := a.do(method, path, body)
	if got.status != status {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, got.status, status, got.raw)
	}
	return got
}

type provEnv struct {
	carol, alice adminAPI
	app          *running
	store        *models.Store
	prefix       string
	kc           *kctest.Env
	keyward      *keycloak.Client // as Keyward's service account, for clean-up

	mu      sync.Mutex
	secrets []string // client secrets and tokens seen, checked against logs and audit
}

func (e *provEnv) remember(s ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s...)
}

func TestProvisioningEndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	for _, b := range []struct{ name, dsn string }{
		{"postgres", pgtest.DSN(t)},
		{"sqlite", "sqlite://" + filepath.Join(t.TempDir(), "keyward.db")},
	} {
		t.Run(b.name, func(t *testing.T) {
			app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": b.dsn,
				"KEYWARD_CLIENT_REDIRECT_HOSTS": "shop.example,127.0.0.1:8765"})
			store, err := models.Open(context.Background(), b.dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			buf := make([]byte, 4)
			_, _ = rand.Read(buf)
			e := &provEnv{app: app, store: store, kc: kc, prefix: "e2e-" + hex.EncodeToString(buf),
				keyward: keycloak.New(keycloak.Config{BaseURL: kc.URL, Realm: kc.Realm, ClientID: kc.ClientID, ClientSecret: kc.ClientSecret, AdminClientID: kc.AdminClientID, AdminClientSecret: kc.AdminClientSecret})}
			e.carol = adminAPI{t: t, app: app, token: kc.Login(t, "carol")}
			e.alice = adminAPI{t: t, app: app, token: kc.Login(t, "alice")}
			t.Cleanup(func() { e.cleanKeycloak(t) })

			t.Run("NonAdmin_403_OnEveryRoute_NothingWritten", e.testNonAdmin)
			t.Run("Lifecycle_GroupsConsumersClientsTokens", e.testLifecycle)
			t.Run("ConsumerList_FilterSortPage", e.testConsumerList)
			t.Run("BadInput_4xx_PerEndpoint_NothingWritten", e.testBadInput)
			t.Run("HostileStrings_StoredAsDataOrRefused", e.testHostile)
			t.Run("LogsAndAuditHoldNoSecret", e.testNoSecretLeaks)
		})
	}
}

// cleanKeycloak removes what a failed test may have left: clients and groups named
// with this run's prefix.
func (e *provEnv) cleanKeycloak(t *testing.T) {
	ctx := context.Background()
	tok := e.kc.AdminToken(t)
	clients, _ := e.kc.Admin.GetClients(ctx, tok, e.kc.Realm, gocloak.GetClientsParams{
		ClientID: gocloak.StringP(e.prefix), Search: gocloak.BoolP(true)})
	for _, c := range clients {
		_ = e.kc.Admin.DeleteClient(ctx, tok, e.kc.Realm, *c.ID)
	}
	if parent, err := e.keyward.GroupByPath(ctx, "/keyward-acl"); err == nil {
		children, _ := e.keyward.ChildGroups(ctx, parent.ID)
		for _, g := range children {
			if strings.HasPrefix(g.Name, e.prefix) {
				_ = e.keyward.DeleteGroup(ctx, g.ID)
			}
		}
	}
}

// keycloakClient reads a client as Keycloak's master admin sees it; nil if absent.
func (e *provEnv) keycloakClient(t *testing.T, clientID string) *gocloak.Client {
	t.Helper()
	list, err := e.kc.Admin.GetClients(context.Background(), e.kc.AdminToken(t), e.kc.Realm,
		gocloak.GetClientsParams{ClientID: gocloak.StringP(clientID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// grant asks Keycloak's token endpoint directly, as the client would.
func (e *provEnv) grant(t *testing.T, clientID, secret string) reply {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	return call(t, "POST", e.kc.Issuer()+"/protocol/openid-connect/token", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
}

func (e *provEnv) tokenTest(t *testing.T, id, secret string) map[string]any {
	t.Helper()
	got := e.carol.must(200, "POST", "/v1/clients/"+id+"/test", map[string]string{"secret": secret})
	if strings.Contains(got.raw, secret) {
		t.Fatal("the token tester echoed the secret")
	}
	return got.body
}

func strs(v any) []string {
	out := kctest.Strings(v)
	slices.Sort(out)
	return out
}

func (e *provEnv) testNonAdmin(t *testing.T) {
	cons := e.carol.must(201, "POST", "/v1/consumers", map[string]any{"name": e.prefix + "-guarded"})
	id := cons.body["id"].(string)
	cl := e.carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{})
	cid := cl.body["id"].(string)
	e.remember(cl.body["secret"].(string))
	routes := []struct{ method, path, body string }{
		{"GET", "/v1/acl-groups", ""},
		{"POST", "/v1/acl-groups", `{"name":"` + e.prefix + `-alice"}`},
		{"DELETE", "/v1/acl-groups/" + e.prefix + "-alice", ""},
		{"POST", "/v1/consumers", `{"name":"` + e.prefix + `-alice"}`},
		{"GET", "/v1/consumers", ""},
		{"GET", "/v1/consumers/" + id, ""},
		{"PATCH", "/v1/consumers/" + id, `{"description":"alice was here"}`},
		{"DELETE", "/v1/consumers/" + id + "?cascade=true", ""},
		{"POST", "/v1/consumers/" + id + "/clients", `{}`},
		{"GET", "/v1/clients", ""},
		{"GET", "/v1/clients/" + cid, ""},
		{"PATCH", "/v1/clients/" + cid, `{"enabled":false}`},
		{"DELETE", "/v1/clients/" + cid, ""},
		{"GET", "/v1/clients/" + cid + "/secret", ""},
		{"POST", "/v1/clients/" + cid + "/secret", ""},
		{"POST", "/v1/clients/" + cid + "/test", `{"secret":"x"}`},
	}
	for _, r := range routes {
		got := e.alice.do(r.method, r.path, r.body)
		if got.status != http.StatusForbidden || got.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("alice %s %s: %d %s", r.method, r.path, got.status, got.raw)
		}
		if strings.Contains(got.raw, cl.body["secret"].(string)) {
			t.Fatalf("alice saw the secret on %s %s", r.method, r.path)
		}
	}
	after := e.carol.must(200, "GET", "/v1/clients/"+cid, nil)
	if after.body["enabled"] != true {
		t.Fatal("alice changed the client")
	}
	if e.keycloakClient(t, e.prefix+"-alice") != nil {
		t.Fatal("alice created something in Keycloak")
	}
	e.carol.must(204, "DELETE", "/v1/consumers/"+id+"?cascade=true", nil)
}

func (e *provEnv) testLifecycle(t *testing.T) {
	ctx := context.Background()
	p := e.prefix
	gRead, gWrite := p+"-read", p+"-write"

	// ACL groups are Keycloak groups under the parent.
	for _, g := range []string{gRead, gWrite} {
		got := e.carol.must(201, "POST", "/v1/acl-groups", map[string]string{"name": g, "description": "can " + g})
		if got.body["path"] != "/keyward-acl/"+g || got.body["keycloak_id"] == "" {
			t.Fatalf("group %v", got.body)
		}
	}
	e.carol.must(409, "POST", "/v1/acl-groups", map[string]string{"name": gRead})
	list := e.carol.must(200, "GET", "/v1/acl-groups", nil)
	var names []string
	for _, it := range list.body["items"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if !slices.Contains(names, gRead) || !slices.Contains(names, gWrite) {
		t.Fatalf("groups listed: %v", names)
	}
	if _, err := e.kc.Admin.GetGroupByPath(ctx, e.kc.AdminToken(t), e.kc.Realm, "keyward-acl/"+gRead); err != nil {
		t.Fatalf("the group is not in Keycloak: %v", err)
	}

	// A consumer with one group, and its clients.
	cons := e.carol.must(201, "POST", "/v1/consumers", map[string]any{
		"name": p + "-shop", "description": "The shop", "environment": "staging", "acl_groups": []string{gRead},
	})
	consID := cons.body["id"].(string)
	if cons.header.Get("Location") != "/v1/consumers/"+consID || !slices.Equal(strs(cons.body["acl_groups"]), []string{gRead}) {
		t.Fatalf("consumer %v", cons.body)
	}
	e.carol.must(409, "POST", "/v1/consumers", map[string]any{"name": p + "-shop"})
	e.carol.must(200, "GET", "/v1/consumers/"+consID, nil)

	generated := e.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{"description": "batch"})
	named := e.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{
		"client_id": p + "-web", "name": "Shop web", "redirect_uris": []string{"https://shop.example/cb", "http://127.0.0.1:8765/cb"},
	})
	e.carol.must(409, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{"client_id": p + "-web"})
	// A client_id Keycloak has already (a client Keyward does not manage).
	e.carol.must(409, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{"client_id": "demo-api"})

	genID, genClientID := generated.body["id"].(string), generated.body["client_id"].(string)
	webID := named.body["id"].(string)
	secrets := map[string]string{genID: generated.body["secret"].(string), webID: named.body["secret"].(string)}
	e.remember(secrets[genID], secrets[webID])
	if !strings.HasPrefix(genClientID, p+"-shop-") || generated.body["realm"] != e.kc.Realm ||
		generated.body["protocol"] != "openid-connect" || generated.body["enabled"] != true ||
		generated.body["environment"] != "staging" || !slices.Equal(strs(generated.body["acl_groups"]), []string{gRead}) {
		t.Fatalf("generated client %v", generated.body)
	}

	// In Keycloak: confidential, service account on, direct grants off, standard flow
	// and consent only with redirect URIs, never full-scope, the acl_groups mapper, the
	// service account in the group.
	for clientID, wantStandard := range map[string]bool{genClientID: false, p + "-web": true} {
		kcc := e.keycloakClient(t, clientID)
		if kcc == nil {
			t.Fatalf("%s is not in Keycloak", clientID)
		}
		if gocloak.PBool(kcc.PublicClient) || !gocloak.PBool(kcc.ServiceAccountsEnabled) ||
			gocloak.PBool(kcc.DirectAccessGrantsEnabled) || gocloak.PBool(kcc.StandardFlowEnabled) != wantStandard ||
			gocloak.PString(kcc.Protocol) != "openid-connect" || !gocloak.PBool(kcc.Enabled) ||
			gocloak.PBool(kcc.FullScopeAllowed) || gocloak.PBool(kcc.ConsentRequired) != wantStandard {
			t.Fatalf("%s in Keycloak: %+v", clientID, kcc)
		}
		mapper := false
		for _, m := range *kcc.ProtocolMappers {
			if gocloak.PString(m.ProtocolMapper) == "oidc-group-membership-mapper" && (*m.Config)["claim.name"] == "acl_groups" &&
				(*m.Config)["full.path"] == "false" {
				mapper = true
			}
		}
		if !mapper {
			t.Fatalf("%s has no acl_groups mapper", clientID)
		}
		sa, err := e.kc.Admin.GetClientServiceAccount(ctx, e.kc.AdminToken(t), e.kc.Realm, *kcc.ID)
		if err != nil {
			t.Fatal(err)
		}
		groups, err := e.kc.Admin.GetUserGroups(ctx, e.kc.AdminToken(t), e.kc.Realm, *sa.ID, gocloak.GetGroupsParams{})
		if err != nil || len(groups) != 1 || gocloak.PString(groups[0].Name) != gRead {
			t.Fatalf("%s service account groups: %v", clientID, err)
		}
	}

	// Reading: single and list, never the secret.
	one := e.carol.must(200, "GET", "/v1/clients/"+webID, nil)
	if one.body["client_id"] != p+"-web" || one.body["name"] != "Shop web" || one.body["secret"] != nil ||
		one.body["consumer"].(map[string]any)["name"] != p+"-shop" || one.body["realm"] != e.kc.Realm {
		t.Fatalf("client %v", one.body)
	}
	for _, q := range []string{"consumer=" + consID, "q=" + p + "-web", "environment=staging&q=" + p, "enabled=true&q=" + p} {
		got := e.carol.must(200, "GET", "/v1/clients?"+q, nil)
		if !strings.Contains(got.raw, webID) || strings.Contains(got.raw, secrets[webID]) {
			t.Fatalf("list ?%s: %s", q, got.raw)
		}
	}
	if got := e.carol.must(200, "GET", "/v1/clients?environment=production&q="+p, nil); len(got.body["items"].([]any)) != 0 {
		t.Fatalf("environment filter: %s", got.raw)
	}

	// Token tester: Keycloak's own token, decoded; never the secret.
	res := e.tokenTest(t, genID, secrets[genID])
	payload, _ := res["payload"].(map[string]any)
	header, _ := res["header"].(map[string]any)
	if res["valid"] != true || res["acl_claim_present"] != true || !slices.Equal(strs(res["acl_groups"]), []string{gRead}) ||
		payload["azp"] != genClientID || payload["iss"] != e.kc.Issuer() || header["alg"] == nil || res["expires_in"].(float64) <= 0 {
		t.Fatalf("token test %v", res)
	}
	if res := e.tokenTest(t, genID, "wrong-secret"); res["valid"] != false || res["error"] != "invalid_client" {
		t.Fatalf("wrong secret %v", res)
	}

	// Inheritance: the consumer's groups change, every client's next token follows.
	e.carol.must(200, "PATCH", "/v1/consumers/"+consID, map[string]any{"acl_groups": []string{gWrite}})
	for id, secret := range secrets {
		if got := strs(e.tokenTest(t, id, secret)["acl_groups"]); !slices.Equal(got, []string{gWrite}) {
			t.Fatalf("after the change %s's token carries %v", id, got)
		}
	}
	// A group in use cannot go; the freed one can.
	e.carol.must(409, "DELETE", "/v1/acl-groups/"+gWrite, nil)
	e.carol.must(204, "DELETE", "/v1/acl-groups/"+gRead, nil)
	e.carol.must(404, "DELETE", "/v1/acl-groups/"+gRead, nil)

	// Secrets stay in Keycloak: view (audited), regenerate (the old one dies at once).
	seen := e.carol.must(200, "GET", "/v1/clients/"+genID+"/secret", nil)
	if seen.body["secret"] != secrets[genID] || seen.body["client_id"] != genClientID {
		t.Fatalf("secret view %v", seen.body["client_id"])
	}
	fresh := e.carol.must(200, "POST", "/v1/clients/"+genID+"/secret", nil).body["secret"].(string)
	e.remember(fresh)
	if fresh == secrets[genID] {
		t.Fatal("regenerate gave the same secret")
	}
	if got := e.grant(t, genClientID, secrets[genID]); got.status != http.StatusUnauthorized {
		t.Fatalf("old secret right after regeneration: %d", got.status)
	}
	if got := e.grant(t, genClientID, fresh); got.status != http.StatusOK {
		t.Fatalf("new secret: %d %s", got.status, got.raw)
	}
	e.remember(e.grant(t, genClientID, fresh).body["access_token"].(string))

	// Disabled: Keycloak issues it no token.
	off := e.carol.must(200, "PATCH", "/v1/clients/"+genID, map[string]any{"enabled": false})
	if off.body["enabled"] != false {
		t.Fatalf("patch %v", off.body)
	}
	if got := e.grant(t, genClientID, fresh); got.status != http.StatusUnauthorized || got.body["access_token"] != nil {
		t.Fatalf("disabled client got %d", got.status)
	}
	if res := e.tokenTest(t, genID, fresh); res["valid"] != false {
		t.Fatalf("tester on a disabled client %v", res)
	}
	if got := e.carol.must(200, "GET", "/v1/clients?enabled=false&consumer="+consID, nil); !strings.Contains(got.raw, genID) || strings.Contains(got.raw, webID) {
		t.Fatalf("enabled=false: %s", got.raw)
	}
	e.carol.must(200, "PATCH", "/v1/clients/"+genID, map[string]any{"enabled": true, "description": "back"})
	if got := e.grant(t, genClientID, fresh); got.status != http.StatusOK {
		t.Fatalf("re-enabled client: %d", got.status)
	}

	// Delete one client: gone from Keycloak.
	e.carol.must(204, "DELETE", "/v1/clients/"+webID, nil)
	e.carol.must(404, "GET", "/v1/clients/"+webID, nil)
	if e.keycloakClient(t, p+"-web") != nil {
		t.Fatal("the deleted client is still in Keycloak")
	}

	// A consumer with clients: 409, unless cascade.
	e.carol.must(409, "DELETE", "/v1/consumers/"+consID, nil)
	e.carol.must(204, "DELETE", "/v1/consumers/"+consID+"?cascade=true", nil)
	e.carol.must(404, "GET", "/v1/consumers/"+consID, nil)
	if e.keycloakClient(t, genClientID) != nil {
		t.Fatal("cascade left the client in Keycloak")
	}
	e.carol.must(204, "DELETE", "/v1/acl-groups/"+gWrite, nil)

	// Every change is in the audit trail, with the actor.
	events, err := e.store.ListAudit(ctx, models.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seenActions := map[string]bool{}
	for _, ev := range events {
		if ev.ActorName == "carol" {
			seenActions[ev.Action] = true
		}
	}
	for _, a := range []string{"acl_group.create", "acl_group.delete", "consumer.create", "consumer.update", "consumer.delete",
		"client.create", "client.update", "client.delete", "client.secret.view", "client.secret.regenerate", "client.test"} {
		if !seenActions[a] {
			t.Errorf("%s is not in the audit trail", a)
		}
	}
}

func (e *provEnv) testConsumerList(t *testing.T) {
	p := e.prefix + "-list"
	for i, env := range []string{"production", "development", "production", "staging", "production"} {
		e.carol.must(201, "POST", "/v1/consumers", map[string]any{"name": fmt.Sprintf("%s-%d", p, i), "environment": env})
	}
	t.Cleanup(func() {
		page := e.carol.do("GET", "/v1/consumers?q="+p+"&limit=200", nil)
		for _, it := range page.body["items"].([]any) {
			e.carol.do("DELETE", "/v1/consumers/"+it.(map[string]any)["id"].(string), nil)
		}
	})
	var got []string
	next := ""
	for pages := 0; pages < 10; pages++ {
		q := "/v1/consumers?sort=-name&limit=2&q=" + url.QueryEscape(p)
		if next != "" {
			q += "&cursor=" + url.QueryEscape(next)
		}
		page := e.carol.must(200, "GET", q, nil)
		for _, it := range page.body["items"].([]any) {
			got = append(got, it.(map[string]any)["name"].(string))
		}
		c, _ := page.body["next_cursor"].(string)
		if c == "" {
			break
		}
		next = c
	}
	want := []string{p + "-4", p + "-3", p + "-2", p + "-1", p + "-0"}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	prod := e.carol.must(200, "GET", "/v1/consumers?environment=production&q="+p, nil)
	if n := len(prod.body["items"].([]any)); n != 3 {
		t.Fatalf("%d production consumers, want 3", n)
	}
	e.carol.must(400, "GET", "/v1/consumers?sort=-name&cursor="+url.QueryEscape(next)+"&q="+p+"&limit=0", nil)
	e.carol.must(400, "GET", "/v1/consumers?sort=name&cursor="+url.QueryEscape(next), nil)
}

func (e *provEnv) testBadInput(t *testing.T) {
	cons := e.carol.must(201, "POST", "/v1/consumers", map[string]any{"name": e.prefix + "-bad"})
	id := cons.body["id"].(string)
	cl := e.carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{"client_id": e.prefix + "-bad-c"})
	cid := cl.body["id"].(string)
	e.remember(cl.body["secret"].(string))
	defer e.carol.must(204, "DELETE", "/v1/consumers/"+id+"?cascade=true", nil)

	common := []struct {
		name, body string
		status     int
	}{
		{"missing body", "", 400},
		{"malformed", `{"name":`, 400},
		{"array", `[]`, 400},
		{"unknown field", `{"id":"x"}`, 400},
		{"invalid UTF-8", "{\"description\":\"\xc3\x28\"}", 400},
		{"oversized", `{"description":"` + strings.Repeat("x", 65<<10) + `"}`, 413},
	}
	endpoints := []struct {
		method, path string
		bad          map[string]string // name → body giving 400
	}{
		{"POST", "/v1/acl-groups", map[string]string{
			"name missing": `{}`, "name wrong type": `{"name":1}`, "name upper case": `{"name":"Admins"}`,
			"name path": `{"name":"../x"}`, "description long": `{"name":"ok-x","description":"` + strings.Repeat("d", 501) + `"}`,
			"description right-to-left override": `{"name":"ok-x","description":"a\u202eb"}`,
		}},
		{"POST", "/v1/consumers", map[string]string{
			"name missing": `{}`, "name wrong type": `{"name":true}`, "name too long": `{"name":"` + strings.Repeat("n", 65) + `"}`,
			"environment": `{"name":"ok","environment":"prod"}`, "acl_groups wrong type": `{"name":"ok","acl_groups":"a"}`,
			"acl_group unknown":            `{"name":"ok","acl_groups":["` + e.prefix + `-nope"]}`,
			"description zero-width space": `{"name":"ok","description":"a\u200bb"}`,
		}},
		{"PATCH", "/v1/consumers/" + id, map[string]string{
			"empty patch": `{}`, "name": `{"name":"Bad Name"}`, "environment": `{"environment":1}`,
			"acl_groups unknown":  `{"acl_groups":["` + e.prefix + `-nope"]}`,
			"description isolate": `{"description":"a\u2066b"}`,
		}},
		{"POST", "/v1/consumers/" + id + "/clients", map[string]string{
			"client_id short": `{"client_id":"ab"}`, "client_id wrong type": `{"client_id":5}`,
			"http redirect": `{"redirect_uris":["http://evil.example/cb"]}`, "wildcard": `{"redirect_uris":["https://a.example/*"]}`,
			"redirect not a list": `{"redirect_uris":"https://a.example"}`, "name control": `{"name":"a\u0007b"}`,
			"name right-to-left override": `{"name":"invoice\u202efdp.exe"}`, "description isolate": `{"description":"a\u2066b"}`,
		}},
		{"PATCH", "/v1/clients/" + cid, map[string]string{
			"empty patch": `{}`, "enabled wrong type": `{"enabled":"no"}`, "redirect": `{"redirect_uris":["ftp://a"]}`,
			"name zero-width space": `{"name":"a\u200bb"}`,
		}},
		{"POST", "/v1/clients/" + cid + "/test", map[string]string{
			"secret missing": `{}`, "secret wrong type": `{"secret":1}`, "secret too long": `{"secret":"` + strings.Repeat("s", 1025) + `"}`,
		}},
	}
	for _, ep := range endpoints {
		for _, c := range common {
			got := e.carol.do(ep.method, ep.path, c.body)
			if got.status != c.status || got.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s, %s: %d %s", ep.method, ep.path, c.name, got.status, got.raw)
			}
		}
		for name, body := range ep.bad {
			got := e.carol.do(ep.method, ep.path, body)
			if got.status != http.StatusBadRequest || got.body["title"] != "Bad Request" {
				t.Errorf("%s %s, %s: %d %s", ep.method, ep.path, name, got.status, got.raw)
			}
		}
		if got := e.carol.do(ep.method, ep.path, `{}`, "Content-Type", "text/plain"); got.status != http.StatusUnsupportedMediaType {
			t.Errorf("%s %s as text/plain: %d", ep.method, ep.path, got.status)
		}
	}
	for _, path := range []string{"/v1/consumers?sort=size", "/v1/consumers?limit=1000", "/v1/clients?enabled=1",
		"/v1/clients?consumer=not-an-id", "/v1/clients?color=red", "/v1/consumers/" + id + "?cascade=maybe"} {
		method := "GET"
		if strings.Contains(path, "cascade") {
			method = "DELETE"
		}
		if got := e.carol.do(method, path, nil); got.status != http.StatusBadRequest {
			t.Errorf("%s %s: %d", method, path, got.status)
		}
	}
	for _, path := range []string{"/v1/consumers/not-a-uuid", "/v1/clients/00000000-0000-4000-8000-000000000000",
		"/v1/clients/'%20OR%201=1/secret"} {
		if got := e.carol.do("GET", path, nil); got.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, got.status)
		}
	}
	// Nothing was written by all that: the consumer and its one client are unchanged.
	now := e.carol.must(200, "GET", "/v1/consumers/"+id, nil)
	if now.body["name"] != e.prefix+"-bad" || len(now.body["acl_groups"].([]any)) != 0 {
		t.Fatalf("consumer changed: %v", now.body)
	}
	clients := e.carol.must(200, "GET", "/v1/clients?consumer="+id, nil)
	if n := len(clients.body["items"].([]any)); n != 1 {
		t.Fatalf("%d clients, want 1", n)
	}
	if got := e.carol.must(200, "GET", "/v1/clients/"+cid, nil); got.body["enabled"] != true {
		t.Fatal("client changed")
	}
	if e.keycloakClient(t, "ab") != nil {
		t.Fatal("a refused client reached Keycloak")
	}
}

func (e *provEnv) testHostile(t *testing.T) {
	for _, name := range []string{"'; DROP TABLE consumers; --", "<script>alert(1)</script>", "../../etc/passwd", "名前",
		"a\u0000b", "${jndi:ldap://x}", "%00", "a b"} {
		got := e.carol.do("POST", "/v1/consumers", map[string]any{"name": name})
		if got.status != http.StatusBadRequest {
			t.Errorf("name %q: %d", name, got.status)
		}
	}
	hostile := "'; DROP TABLE consumers; -- <script>alert(1)</script> ${jndi:ldap://x} 名前 \\%_"
	cons := e.carol.must(201, "POST", "/v1/consumers", map[string]any{"name": e.prefix + "-hostile", "description": hostile})
	id := cons.body["id"].(string)
	defer e.carol.must(204, "DELETE", "/v1/consumers/"+id+"?cascade=true", nil)
	cl := e.carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{"name": hostile[:40], "description": hostile})
	e.remember(cl.body["secret"].(string))
	if got := e.carol.must(200, "GET", "/v1/consumers/"+id, nil); got.body["description"] != hostile {
		t.Fatalf("description read back as %q", got.body["description"])
	}
	if got := e.carol.must(200, "GET", "/v1/clients/"+cl.body["id"].(string), nil); got.body["description"] != hostile {
		t.Fatalf("client description read back as %q", got.body["description"])
	}
	if kcc := e.keycloakClient(t, cl.body["client_id"].(string)); kcc == nil || gocloak.PString(kcc.Description) != hostile {
		t.Fatal("Keycloak holds another description")
	}
	// A LIKE pattern in q is literal text.
	if got := e.carol.must(200, "GET", "/v1/consumers?q="+url.QueryEscape("\\%_"), nil); !strings.Contains(got.raw, id) {
		t.Fatal("q with LIKE metacharacters did not find the literal text")
	}
	plain := e.carol.must(201, "POST", "/v1/consumers", map[string]any{"name": e.prefix + "-plain", "description": "plain"})
	defer e.carol.must(204, "DELETE", "/v1/consumers/"+plain.body["id"].(string), nil)
	got := e.carol.must(200, "GET", "/v1/consumers?q=%25&limit=200", nil)
	if !strings.Contains(got.raw, id) || strings.Contains(got.raw, plain.body["id"].(string)) {
		t.Fatal("q=% is not literal: it must find the text with a % and only that")
	}
}

func (e *provEnv) testNoSecretLeaks(t *testing.T) {
	logs := e.app.logs.String()
	if !strings.Contains(logs, `"route":"/v1/clients/:id/secret"`) {
		t.Fatal("no provisioning request was logged: the check would prove nothing")
	}
	events, err := e.store.ListAudit(context.Background(), models.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(events)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.secrets) < 5 {
		t.Fatal("too few secrets were seen: the check would prove nothing")
	}
	for _, s := range e.secrets {
		for i := 0; i+20 <= len(s); i += 10 {
			if strings.Contains(logs, s[i:i+20]) {
				t.Fatal("a secret or token appears in the logs")
			}
			if strings.Contains(string(raw), s[i:i+20]) {
				t.Fatal("a secret or token appears in the audit trail")
			}
		}
	}
}

func newPrefix() string {
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	return "e2e-" + hex.EncodeToString(buf)
}

// removeClientsNamed deletes, when the test ends, the realm's clients whose client_id
// starts with prefix: whatever a failing test left.
func removeClientsNamed(t *testing.T, kc *kctest.Env, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		tok := kc.AdminToken(t)
		clients, _ := kc.Admin.GetClients(ctx, tok, kc.Realm, gocloak.GetClientsParams{
			ClientID: gocloak.StringP(prefix), Search: gocloak.BoolP(true)})
		for _, c := range clients {
			_ = kc.Admin.DeleteClient(ctx, tok, kc.Realm, *c.ID)
		}
	})
}

// wantProblem checks a problem+json answer of status whose detail says each of says.
func wantProblem(t *testing.T, got reply, status int, says ...string) {
	t.Helper()
	if got.status != status || got.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s, want %d problem+json: %s", got.status, got.header.Get("Content-Type"), status, got.raw)
	}
	detail, _ := got.body["detail"].(string)
	for _, s := range says {
		if !strings.Contains(detail, s) {
			t.Fatalf("detail %q does not say %q", detail, s)
		}
	}
}

// metricValue polls /metrics until the series has the value (bounded: the repair pass
// runs at start, in the background).
func metricValue(t *testing.T, app *running, series, want string) {
	t.Helper()
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	last := ""
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got := call(t, "GET", app.url+"/metrics", nil)
		if m := line.FindStringSubmatch(got.raw); m != nil {
			if last = m[1]; last == want {
				return
			}
		}
	}
	t.Fatalf("%s is %q, want %s", series, last, want)
}

// The attack of the issue: roles put on an ACL group, or on the ACL parent, make every
// member of the group hold them. Keyward refuses to put anyone in such a group, and its
// repair pass reports one that gained roles.
func TestProvisioning_ACLGroupsCarryNoRoles_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	prefix := newPrefix()
	removeClientsNamed(t, kc, prefix)
	parentName := prefix + "-acl"
	parentID := kc.TempGroup(t, "", parentName)
	taintedID := kc.TempGroup(t, parentID, "tainted")
	role := kc.TempRealmRole(t, prefix+"-role")
	unmapTainted := kc.MapRealmRoleToGroup(t, taintedID, *role.Name)

	app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": pgtest.DSN(t), "KEYWARD_ACL_PARENT_GROUP": parentName})
	carol := adminAPI{t: t, app: app, token: kc.Login(t, "carol")}

	// The pass at start found the group: the gauge says 1, an error line names it.
	metricValue(t, app, "keyward_acl_groups_with_roles", "1")
	reported := false
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, `"acl_group":"tainted"`) && strings.Contains(line, `"level":"error"`) &&
			strings.Contains(line, *role.Name) {
			reported = true
		}
	}
	if !reported {
		t.Fatal("no error line names the ACL group that carries roles")
	}

	wantProblem(t, carol.do("POST", "/v1/consumers", map[string]any{"name": prefix + "-shop", "acl_groups": []string{"tainted"}}),
		409, `the ACL group "tainted" carries roles`, *role.Name)

	carol.must(201, "POST", "/v1/acl-groups", map[string]string{"name": "clean"})
	cons := carol.must(201, "POST", "/v1/consumers", map[string]any{"name": prefix + "-shop", "acl_groups": []string{"clean"}})
	id := cons.body["id"].(string)
	defer carol.must(204, "DELETE", "/v1/consumers/"+id+"?cascade=true", nil)
	carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{"client_id": prefix + "-c1"})
	wantProblem(t, carol.do("PATCH", "/v1/consumers/"+id, map[string]any{"acl_groups": []string{"clean", "tainted"}}),
		409, `"tainted"`)
	if got := carol.must(200, "GET", "/v1/consumers/"+id, nil); !slices.Equal(strs(got.body["acl_groups"]), []string{"clean"}) {
		t.Fatalf("the refused update changed the groups: %v", got.body["acl_groups"])
	}

	// The parent gains a realm-management role: every group under it inherits it.
	unmapParent := kc.MapClientRoleToGroup(t, parentID, "realm-management", "view-users")
	wantProblem(t, carol.do("POST", "/v1/acl-groups", map[string]string{"name": "more"}),
		409, `the ACL parent group "/`+parentName+`" carries roles`, "realm-management/view-users")
	wantProblem(t, carol.do("POST", "/v1/consumers/"+id+"/clients", map[string]any{"client_id": prefix + "-c2"}),
		409, `the ACL group "clean" inherits roles from its parent group "/`+parentName+`"`)
	if e := (&provEnv{kc: kc}); e.keycloakClient(t, prefix+"-c2") != nil {
		t.Fatal("the refused client reached Keycloak")
	}

	// Roles removed: allowed again.
	unmapParent()
	unmapTainted()
	carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{"client_id": prefix + "-c2"})
	carol.must(200, "PATCH", "/v1/consumers/"+id, map[string]any{"acl_groups": []string{"clean", "tainted"}})
	carol.must(201, "POST", "/v1/acl-groups", map[string]string{"name": "more"})
}

// Keycloak creates the client but Keyward never hears back (the connection dropped,
// or the call timed out): the caller gets 503, and neither Keycloak nor the store keeps
// anything.
func TestProvisioning_ClientCreateAnswerLost_NothingLeft_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	prefix := newPrefix()
	removeClientsNamed(t, kc, prefix)
	dsn := pgtest.DSN(t)
	lossy := kctest.NewLossyProxy(t, kc.URL)
	app := startAppWith(t, kc, map[string]string{
		"KEYWARD_DATABASE_URL":     dsn,
		"KEYWARD_KEYCLOAK_URL":     lossy.URL,
		"KEYWARD_KEYCLOAK_ISSUER":  kc.Issuer(),
		"KEYWARD_KEYCLOAK_TIMEOUT": "3s",
	})
	store, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	carol := adminAPI{t: t, app: app, token: kc.Login(t, "carol")}
	e := &provEnv{kc: kc}
	cons := carol.must(201, "POST", "/v1/consumers", map[string]any{"name": prefix})
	id := cons.body["id"].(string)
	defer carol.must(204, "DELETE", "/v1/consumers/"+id+"?cascade=true", nil)

	clientID := prefix + "-lost"
	for i, mode := range []kctest.LossMode{kctest.DropAnswer, kctest.StallAnswer} {
		lossy.SetMode(mode)
		got := carol.do("POST", "/v1/consumers/"+id+"/clients", map[string]any{"client_id": clientID})
		wantProblem(t, got, http.StatusServiceUnavailable, "Keycloak")
		if got.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		if lost := lossy.Lost(); len(lost) != i+1 || lost[i] != http.StatusCreated {
			t.Fatalf("precondition: Keycloak should have created the client (%v)", lost)
		}
		if e.keycloakClient(t, clientID) != nil {
			t.Fatalf("mode %d: the client Keycloak created is left behind", mode)
		}
		if rows, err := store.ClientsOfConsumer(context.Background(), id); err != nil || len(rows) != 0 {
			t.Fatalf("mode %d: rows left: %+v %v", mode, rows, err)
		}
	}
	lossy.SetMode(kctest.Forward)
	carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{"client_id": clientID})
}

// The audit trail refuses writes (a trigger stands for a full disk or a revoked
// grant): a secret is neither shown nor regenerated, and the old one keeps working.
func TestProvisioning_SecretAuditDown_503_NoSecret_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	prefix := newPrefix()
	removeClientsNamed(t, kc, prefix)
	dsn := pgtest.DSN(t)
	app := startApp(t, kc, dsn)
	carol := adminAPI{t: t, app: app, token: kc.Login(t, "carol")}
	e := &provEnv{kc: kc}
	cons := carol.must(201, "POST", "/v1/consumers", map[string]any{"name": prefix})
	id := cons.body["id"].(string)
	defer carol.must(204, "DELETE", "/v1/consumers/"+id+"?cascade=true", nil)
	cl := carol.must(201, "POST", "/v1/consumers/"+id+"/clients", map[string]any{})
	cid, clientID, secret := cl.body["id"].(string), cl.body["client_id"].(string), cl.body["secret"].(string)

	db, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE FUNCTION kw_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$`)
	exec(`CREATE TRIGGER kw_audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION kw_audit_down()`)

	for _, method := range []string{"GET", "POST"} {
		got := carol.do(method, "/v1/clients/"+cid+"/secret", nil)
		wantProblem(t, got, http.StatusServiceUnavailable, "audit")
		if got.header.Get("Retry-After") == "" || strings.Contains(got.raw, `"secret"`) || strings.Contains(got.raw, secret) {
			t.Fatalf("%s secret with the audit trail down: %s", method, got.raw)
		}
	}
	if got := e.grant(t, clientID, secret); got.status != http.StatusOK {
		t.Fatalf("the old secret stopped working after a refused regeneration: %d", got.status)
	}

	exec(`DROP TRIGGER kw_audit_down ON audit_events`)
	if got := carol.must(200, "GET", "/v1/clients/"+cid+"/secret", nil); got.body["secret"] != secret {
		t.Fatal("the secret view after the audit trail came back")
	}
	if strings.Contains(app.logs.String(), secret) {
		t.Fatal("the secret is in the logs")
	}
}
