package main

// "Provisioned clients carry no user's roles", as the attacker tries it: a
// keyward-admin makes a client whose redirect URI she controls and lures a realm
// administrator who has a Keycloak session to its authorization URL. Real Keycloak,
// real chromium, a real listener for the code.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/browsertest"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

// codeCatcher is the attacker's redirect URI: it keeps every query it receives.
type codeCatcher struct {
	addr string
	got  chan url.Values
}

func newCodeCatcher(t *testing.T) *codeCatcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &codeCatcher{addr: ln.Addr().String(), got: make(chan url.Values, 16)}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" { // not the browser's favicon request
			c.got <- r.URL.Query()
		}
		fmt.Fprint(w, "received")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

func (c *codeCatcher) redirectURI() string { return "http://" + c.addr + "/cb" }

// nothing fails if the listener received anything so far.
func (c *codeCatcher) nothing(t *testing.T) {
	t.Helper()
	select {
	case q := <-c.got:
		t.Fatalf("the redirect URI received %v before the administrator consented", q.Get("state"))
	default:
	}
}

// next waits (bounded) for the listener's next request.
func (c *codeCatcher) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-c.got:
		return q
	case <-time.After(60 * time.Second):
		t.Fatal("the redirect URI received nothing")
		return nil
	}
}

type scopeAttack struct {
	t       *testing.T
	kc      *kctest.Env
	app     *running
	carol   adminAPI
	catcher *codeCatcher
	prefix  string
	browser context.Context
	adminID string // the deceived realm administrator
	target  string // a user whose roles the attacker would like to raise
}

func TestProvisionedClient_RealmAdminLoginLendsNoAdminPower_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	prefix := newPrefix()
	removeClientsNamed(t, kc, prefix)
	catcher := newCodeCatcher(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": pgtest.DSN(t), "KEYWARD_CLIENT_REDIRECT_HOSTS": catcher.addr})
	a := &scopeAttack{t: t, kc: kc, app: app, catcher: catcher, prefix: prefix,
		carol: adminAPI{t: t, app: app, token: kc.Login(t, "carol")}}

	// A throw-away realm administrator (deleted when the test ends), logged in to
	// Keycloak in the browser: a session that answers authorization requests at once.
	adminID, adminName := kc.TempUser(t, prefix+"-realmadmin")
	kc.GrantClientRole(t, adminID, "realm-management", "realm-admin")
	a.adminID = adminID
	a.target, _ = kc.TempUser(t, prefix+"-target")
	// Precondition: through a full-scope client this user's token does carry realm-admin.
	if roles := clientRoles(kctest.Claims(t, kc.Login(t, adminName)))["realm-management"]; !slices.Contains(roles, "realm-admin") {
		t.Fatalf("precondition: the administrator's own token carries realm-management roles %v", roles)
	}
	a.browser = browsertest.New(t, 5*time.Minute)
	a.loginToKeycloak(adminName)

	cons := a.carol.must(201, "POST", "/v1/consumers", map[string]any{"name": prefix + "-shop"})
	consID := cons.body["id"].(string)

	t.Run("RedirectURIOnCreate_ConsentAsked_TokenPowerless", func(t *testing.T) {
		a.t = t
		created := a.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{
			"client_id": prefix + "-web", "redirect_uris": []string{catcher.redirectURI()}})
		a.attack(created.body["client_id"].(string), created.body["secret"].(string), "openid")
	})
	t.Run("RedirectURIByPatch_ConsentAsked_TokenPowerless", func(t *testing.T) {
		a.t = t
		created := a.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{"client_id": prefix + "-later"})
		a.carol.must(200, "PATCH", "/v1/clients/"+created.body["id"].(string), map[string]any{"redirect_uris": []string{catcher.redirectURI()}})
		a.attack(created.body["client_id"].(string), created.body["secret"].(string), "openid")
	})
	t.Run("ExtraScopesAsked_TokenPowerless", func(t *testing.T) {
		a.t = t
		created := a.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{
			"client_id": prefix + "-scopes", "redirect_uris": []string{catcher.redirectURI()}})
		a.attack(created.body["client_id"].(string), created.body["secret"].(string), "openid profile email roles offline_access")
	})
	t.Run("RealmManagementScopeAsked_NoCodeOrPowerlessToken", func(t *testing.T) {
		a.t = t
		created := a.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{
			"client_id": prefix + "-rm", "redirect_uris": []string{catcher.redirectURI()}})
		a.attack(created.body["client_id"].(string), created.body["secret"].(string), "openid realm-management acl_groups")
	})
	t.Run("HostNotAllowed_400_NothingInKeycloak", func(t *testing.T) {
		for _, uri := range []string{"https://attacker.example/cb", "http://127.0.0.1:1/cb", "http://localhost:" + strings.Split(catcher.addr, ":")[1] + "/cb"} {
			got := a.carol.do("POST", "/v1/consumers/"+consID+"/clients", map[string]any{"client_id": prefix + "-evil", "redirect_uris": []string{uri}})
			u, _ := url.Parse(uri)
			wantProblem(t, got, 400)
			for _, says := range []string{`"redirect_uris[0]"`, fmt.Sprintf(`\"%s\"`, u.Host), "KEYWARD_CLIENT_REDIRECT_HOSTS does not allow"} {
				if !strings.Contains(got.raw, says) {
					t.Fatalf("the problem does not say %s: %s", says, got.raw)
				}
			}
			if (&provEnv{kc: kc}).keycloakClient(t, prefix+"-evil") != nil {
				t.Fatal("the refused client reached Keycloak")
			}
		}
		if rows, _ := app.store.ListClients(context.Background(), models.ClientFilter{Query: prefix + "-evil", Limit: 10}); len(rows) != 0 {
			t.Fatalf("the refused client has a row: %+v", rows)
		}
	})
	t.Run("ReconcileRepairsAnOpenedClient_Audited", func(t *testing.T) {
		a.t = t
		a.reconcileRepair(consID)
	})
}

// loginToKeycloak logs the browser in at the realm's account console and waits for
// Keycloak's session cookie.
func (a *scopeAttack) loginToKeycloak(username string) {
	t := a.t
	if err := chromedp.Do(a.browser, chromedp.Navigate(a.kc.Issuer()+"/account")); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.KeycloakLogin(a.browser, username, username); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		res, err := chromedp.Call(a.browser, network.GetCookies, network.GetCookiesParams{URLs: []string{a.kc.Issuer() + "/"}})
		if err == nil && slices.ContainsFunc(res.Cookies, func(c *network.Cookie) bool { return c.Name == "KEYCLOAK_IDENTITY" }) {
			return
		}
		if time.Now().After(deadline) {
			browsertest.Screenshot(t, a.browser, "realm-admin-login")
			t.Fatalf("no Keycloak session after the login: %v", err)
		}
	}
}

// attack opens the client's authorization URL in the administrator's browser: no code
// without consent; with it, the code's token has no admin power.
func (a *scopeAttack) attack(clientID, secret, scope string) {
	t := a.t
	state := kctest.Unique("state")
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {a.catcher.redirectURI()},
		"state": {state}, "scope": {scope}}
	if err := chromedp.Do(a.browser, chromedp.Navigate(a.kc.Issuer()+"/protocol/openid-connect/auth?"+q.Encode())); err != nil {
		t.Fatal(err)
	}
	// Keycloak answers with its consent page (or, for a scope it refuses, sends an
	// error back: no code either way without the administrator's click).
	whereIsTheBrowser := fmt.Sprintf(`document.readyState !== "complete" ? "" :
		location.href.startsWith(%q) ? "redirect" :
		document.querySelector("input[name=accept], button[name=accept]") ? "consent" :
		document.querySelector("#username") ? "login" : ""`, a.catcher.redirectURI())
	var consent bool
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		page, err := chromedp.Run(a.browser, chromedp.Evaluate[string](whereIsTheBrowser))
		if err == nil && page == "consent" {
			consent = true
			break
		}
		if err == nil && page == "redirect" {
			break
		}
		if time.Now().After(deadline) || page == "login" {
			browsertest.Screenshot(t, a.browser, "consent-"+clientID)
			t.Fatalf("neither a consent page nor a redirect: %q %v", page, err)
		}
	}
	if !consent {
		got := a.catcher.next(t)
		if got.Get("code") != "" || got.Get("error") == "" {
			t.Fatalf("a code arrived without consent: %v", got.Get("error"))
		}
		return
	}
	a.catcher.nothing(t)

	// The deceived administrator grants consent.
	if err := chromedp.Do(a.browser, chromedp.Click(chromedp.CSS(`input[name=accept], button[name=accept]`))); err != nil {
		t.Fatal(err)
	}
	got := a.catcher.next(t)
	if got.Get("state") != state || got.Get("code") == "" {
		t.Fatalf("after consent: state ok %v, code %v, error %q", got.Get("state") == state, got.Get("code") != "", got.Get("error"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {got.Get("code")}, "redirect_uri": {a.catcher.redirectURI()},
		"client_id": {clientID}, "client_secret": {secret}}
	tok := call(t, "POST", a.kc.Issuer()+"/protocol/openid-connect/token", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	access, _ := tok.body["access_token"].(string)
	if tok.status != 200 || access == "" {
		t.Fatalf("code for token: %d %v", tok.status, tok.body["error"])
	}
	remember(access, secret)
	claims := kctest.Claims(t, access)
	if sub, _ := claims["sub"].(string); sub != a.adminID {
		t.Fatalf("the token is not the administrator's (sub %q)", sub)
	}
	if rm, ok := clientRoles(claims)["realm-management"]; ok {
		t.Fatalf("the token carries realm-management roles %v", rm)
	}
	for _, denied := range []string{"realm-admin", "keyward-admin"} {
		if slices.Contains(kctest.RealmRoles(claims), denied) {
			t.Fatalf("the token carries the denylisted role %s", denied)
		}
	}
	// No role at all, but what a requested client scope maps itself (offline_access
	// maps the realm role of that name).
	for _, r := range kctest.RealmRoles(claims) {
		if !(r == "offline_access" && strings.Contains(scope, "offline_access")) {
			t.Fatalf("the token carries the realm role %s", r)
		}
	}
	if len(clientRoles(claims)) != 0 {
		t.Fatalf("the token carries client roles %v", clientRoles(claims))
	}

	// Keycloak's admin API refuses it: reading users, and granting realm-admin.
	adminBase := a.kc.URL + "/admin/realms/" + a.kc.Realm
	if got := call(t, "GET", adminBase+"/users", nil, "Authorization", "Bearer "+access); got.status != http.StatusForbidden {
		t.Fatalf("GET users with the token: %d, want 403", got.status)
	}
	rmID, realmAdmin := a.kc.ClientRole(t, "realm-management", "realm-admin")
	body := fmt.Sprintf(`[{"id":%q,"name":"realm-admin"}]`, gocloak.PString(realmAdmin.ID))
	grant := call(t, "POST", adminBase+"/users/"+a.target+"/role-mappings/clients/"+rmID, strings.NewReader(body),
		"Authorization", "Bearer "+access, "Content-Type", "application/json")
	if grant.status != http.StatusForbidden {
		t.Fatalf("granting realm-admin with the token: %d, want 403", grant.status)
	}
	roles, err := a.kc.Admin.GetClientRolesByUserID(context.Background(), a.kc.AdminToken(t), a.kc.Realm, rmID, a.target)
	if err != nil || len(roles) != 0 {
		t.Fatalf("the target's realm-management roles: %d %v", len(roles), err)
	}
}

// reconcileRepair opens a provisioned client in Keycloak as a realm admin could
// (full scope, no consent, realm-admin in its scope); one Reconcile pass closes it.
func (a *scopeAttack) reconcileRepair(consID string) {
	t := a.t
	ctx := context.Background()
	created := a.carol.must(201, "POST", "/v1/consumers/"+consID+"/clients", map[string]any{
		"client_id": a.prefix + "-opened", "redirect_uris": []string{a.catcher.redirectURI()}})
	rowID := created.body["id"].(string)
	kcc := (&provEnv{kc: a.kc}).keycloakClient(t, a.prefix+"-opened")
	admin := a.kc.AdminToken(t)
	kcc.FullScopeAllowed, kcc.ConsentRequired = gocloak.BoolP(true), gocloak.BoolP(false)
	if err := a.kc.Admin.UpdateClient(ctx, admin, a.kc.Realm, *kcc); err != nil {
		t.Fatal(err)
	}
	rmID, realmAdmin := a.kc.ClientRole(t, "realm-management", "realm-admin")
	if err := a.kc.Admin.CreateClientScopeMappingsClientRoles(ctx, admin, a.kc.Realm, *kcc.ID, rmID, []gocloak.Role{realmAdmin}); err != nil {
		t.Fatal(err)
	}

	kc := a.kc
	svc, err := provisioning.New(keycloak.New(keycloak.Config{BaseURL: kc.URL, Realm: kc.Realm, ClientID: kc.ClientID,
		ClientSecret: kc.ClientSecret, AdminClientID: kc.AdminClientID, AdminClientSecret: kc.AdminClientSecret}),
		a.app.store, provisioning.Config{Realm: kc.Realm, ParentGroup: "keyward-acl", Log: zap.NewNop(),
			Audit: audit.NewRecorder(a.app.store, zap.NewNop(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Reconcile(ctx)
	if err != nil || slices.Contains(rep.ClientsUnrepaired, a.prefix+"-opened") {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}

	after := (&provEnv{kc: kc}).keycloakClient(t, a.prefix+"-opened")
	if gocloak.PBool(after.FullScopeAllowed) || !gocloak.PBool(after.ConsentRequired) {
		t.Fatalf("after the pass: fullScopeAllowed %v, consentRequired %v", gocloak.PBool(after.FullScopeAllowed), gocloak.PBool(after.ConsentRequired))
	}
	m, err := kc.Admin.GetClientScopeMappings(ctx, kc.AdminToken(t), kc.Realm, *kcc.ID)
	if err != nil || len(m.ClientMappings) != 0 || (m.RealmMappings != nil && len(*m.RealmMappings) != 0) {
		t.Fatalf("scope mappings after the pass: %+v %v", m, err)
	}
	events, err := a.app.store.ListAudit(ctx, models.AuditFilter{TargetType: "client", TargetID: rowID, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(ev models.AuditEvent) bool {
		return ev.Action == "client.reconcile" && strings.Contains(ev.Details, "repaired") && strings.Contains(ev.Details, "realm-admin")
	}) {
		t.Fatalf("no client.reconcile event names the repair: %+v", events)
	}

	// The repaired client asks consent again and lends no power.
	a.attack(a.prefix+"-opened", created.body["secret"].(string), "openid")
}
