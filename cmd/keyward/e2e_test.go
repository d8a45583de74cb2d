package main

// End-to-end tests: Keyward wired as main wires it, on the real Keycloak and the real
// PostgreSQL (and SQLite) started by `make test`. Keycloak fetches assertion keys from the
// shared Keyward at KEYWARD_TEST_PUBLIC_URL; the instance under test signs with the same
// key file and names the same issuer, so Keycloak accepts its assertions.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/server"
)

// logSink keeps every log line the app writes, as JSON text.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}
func (s *logSink) Sync() error { return nil }
func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

type running struct {
	url string
	// metricsURL is where /metrics is served when KEYWARD_METRICS_LISTEN_ADDR is set.
	metricsURL string
	logs       *logSink
	kc         *kctest.Env
	store      *models.Store
}

// startApp serves a fully wired Keyward on a free loopback port.
func startApp(t testing.TB, kc *kctest.Env, databaseURL string) *running {
	t.Helper()
	return startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": databaseURL})
}

// startAppWith starts the app with settings overriding the test defaults.
func startAppWith(t testing.TB, kc *kctest.Env, overrides map[string]string) *running {
	t.Helper()
	if kc.SigningKeyFile == "" {
		t.Fatal("KEYWARD_TEST_SIGNING_KEY_FILE is not set: run `make test`")
	}
	settings := map[string]string{
		"KEYWARD_LISTEN_ADDR":         "127.0.0.1:0",
		"KEYWARD_PUBLIC_URL":          kc.PublicURL,
		"KEYWARD_KEYCLOAK_URL":        kc.URL,
		"KEYWARD_REALM":               kc.Realm,
		"KEYWARD_CLIENT_ID":           kc.ClientID,
		"KEYWARD_CLIENT_SECRET":       kc.ClientSecret,
		"KEYWARD_ADMIN_CLIENT_ID":     kc.AdminClientID,
		"KEYWARD_ADMIN_CLIENT_SECRET": kc.AdminClientSecret,
		"KEYWARD_DATA_DIR":            t.TempDir(),
		"KEYWARD_SIGNING_KEY_FILE":    kc.SigningKeyFile,
		"KEYWARD_LOG_LEVEL":           "debug",
		// These tests hold that a Keycloak change shows in the very next token, as it
		// does without the cache; with it (the default) it shows within the events poll
		// interval: kcevents_cache_e2e_test.go.
		"KEYWARD_TOKEN_CACHE": "false",
	}
	for k, v := range overrides {
		settings[k] = v
	}
	cfg, err := config.LoadValid(nil, func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	sink := &logSink{}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), sink, zapcore.DebugLevel)
	log := zap.New(core)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := server.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("wire app: %v", err)
	}
	ln, err := net.Listen("tcp", settings["KEYWARD_LISTEN_ADDR"]) // 127.0.0.1:0 unless a test chose its port
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	r := &running{url: "http://" + ln.Addr().String(), logs: sink, kc: kc, store: a.Store()}
	msrv := &http.Server{Handler: a.Metrics(), ReadHeaderTimeout: 5 * time.Second}
	if a.Metrics() != nil { // as serve does
		mln, err := net.Listen("tcp", settings["KEYWARD_METRICS_LISTEN_ADDR"])
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		go func() { _ = msrv.Serve(mln) }()
		r.metricsURL = "http://" + mln.Addr().String()
	}
	t.Cleanup(func() {
		_ = srv.Close()
		_ = msrv.Close()
		cancel()
		_ = a.Close()
	})
	return r
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, url string, body io.Reader, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (r *running) createKey(t *testing.T, userToken, name string) (id, key string) {
	t.Helper()
	got := call(t, "POST", r.url+"/v1/keys", strings.NewReader(`{"name":"`+name+`"}`),
		"Authorization", "Bearer "+userToken, "Content-Type", "application/json")
	if got.status != http.StatusCreated {
		t.Fatalf("create key: %d %s", got.status, got.raw)
	}
	id, _ = got.body["id"].(string)
	key, _ = got.body["key"].(string)
	remember(key, userToken)
	return id, key
}

func (r *running) exchange(t *testing.T, key string) reply {
	t.Helper()
	return call(t, "POST", r.url+"/v1/token", nil, "X-API-Key", key)
}

func (r *running) mustToken(t *testing.T, key string) (string, map[string]any) {
	t.Helper()
	got := r.exchange(t, key)
	if got.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", got.status, got.raw)
	}
	tok, _ := got.body["access_token"].(string)
	remember(tok)
	return tok, kctest.Claims(t, tok)
}

func TestEndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	backends := []struct{ name, dsn string }{
		{"postgres", pgtest.DSN(t)},
		{"sqlite", ""},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			app := startApp(t, kc, b.dsn)
			t.Run("WalkThrough_KeyToKeycloakToken", func(t *testing.T) { testWalkThrough(t, app) })
			t.Run("RoleRemovedInKeycloak_GoneFromNextToken", func(t *testing.T) { testRoleRemoval(t, app) })
			t.Run("UserDisabledInKeycloak_Refused", func(t *testing.T) { testUserDisabled(t, app) })
			t.Run("DeletedKey_Refused", func(t *testing.T) { testDeletedKey(t, app) })
			t.Run("OtherUser_CannotListOrDelete", func(t *testing.T) { testIsolation(t, app) })
			t.Run("BadKeys_InvalidGrant", func(t *testing.T) { testBadKeys(t, app) })
			t.Run("ManyExchanges_NoSessionGrowth", func(t *testing.T) { testSessions(t, app) })
			t.Run("Readyz", func(t *testing.T) {
				if got := call(t, "GET", app.url+"/readyz", nil); got.status != 200 {
					t.Fatalf("readyz: %d %s", got.status, got.raw)
				}
			})
			t.Run("Scopes_NarrowedNeverWidened", func(t *testing.T) { testScopes(t, app) })
			t.Run("RefusedKeys_OneAnswer", func(t *testing.T) { testRefusedKeysAlike(t, app) })
			t.Run("Rotation_50Parallel_OneWins", func(t *testing.T) { testRotationRace(t, app) })
			t.Run("Metrics_CountExchangesWithoutIdentifiers", func(t *testing.T) { testMetrics(t, app) })
			t.Run("LogsHoldNoSecret", func(t *testing.T) { testLogsClean(t, app) })
		})
	}
}

// secrets seen during the run, checked against the logs at the end.
var (
	secretsMu sync.Mutex
	secrets   []string
)

func remember(s ...string) {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	secrets = append(secrets, s...)
}

func testWalkThrough(t *testing.T, app *running) {
	kc := app.kc
	userToken := kc.Login(t, "alice")
	_, key := app.createKey(t, userToken, "laptop")
	if !strings.HasPrefix(key, "kw_live_") {
		t.Fatalf("key does not start with kw_live_")
	}
	tok, claims := app.mustToken(t, key)

	if claims["iss"] != kc.Issuer() {
		t.Fatalf("iss %v, want Keycloak's %s", claims["iss"], kc.Issuer())
	}
	if claims["sub"] != kc.UserID(t, "alice") {
		t.Fatalf("sub %v is not alice's id", claims["sub"])
	}
	groups := kctest.Strings(claims["acl_groups"])
	slices.Sort(groups)
	if !slices.Equal(groups, []string{"analytics", "engineering"}) {
		t.Fatalf("acl_groups %v", claims["acl_groups"])
	}
	if !slices.Contains(kctest.RealmRoles(claims), "default-roles-keyward") {
		t.Fatalf("realm roles %v lack the default role", kctest.RealmRoles(claims))
	}
	// Keycloak itself accepts the token: it issued and signed it.
	info := call(t, "GET", kc.Issuer()+"/protocol/openid-connect/userinfo", nil, "Authorization", "Bearer "+tok)
	if info.status != http.StatusOK || info.body["preferred_username"] != "alice" {
		t.Fatalf("userinfo: %d %s", info.status, info.raw)
	}
	// Both request shapes of DESIGN.md.
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {key},
		"subject_token_type": {"urn:keyward:params:oauth:token-type:api-key"},
	}
	got := call(t, "POST", app.url+"/v1/token", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	if got.status != http.StatusOK || got.body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" ||
		got.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("form exchange: %d %s", got.status, got.raw)
	}
	remember(got.body["access_token"].(string))
	// The management API refuses the exchanged token: a key never manages keys.
	if got := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+tok); got.status != http.StatusUnauthorized {
		t.Fatalf("exchanged token listed keys: %d", got.status)
	}
}

// testRoleRemoval: a role the user holds and the exchange client has in its scope is
// in the token, and gone from the next one once removed; a role outside that scope
// never appears. A throw-away user: other packages' tests keep alice as she is.
func testRoleRemoval(t *testing.T, app *running) {
	kc := app.kc
	ctx := context.Background()
	admin := kc.AdminToken(t)
	userID, username := kc.TempUser(t, "roles")
	base := "kw-e2e-" + strings.ReplaceAll(t.Name(), "/", "-")
	base = base[:min(len(base), 50)]
	inScope, outOfScope := kc.TempRealmRole(t, base+"-in"), kc.TempRealmRole(t, base+"-out")
	kc.AddToExchangeScope(t, kc.ClientID, inScope)
	if err := kc.Admin.AddRealmRoleToUser(ctx, admin, kc.Realm, userID, []gocloak.Role{inScope, outOfScope}); err != nil {
		t.Fatal(err)
	}
	_, key := app.createKey(t, kc.Login(t, username), "roles")
	_, claims := app.mustToken(t, key)
	roles := kctest.RealmRoles(claims)
	if !slices.Contains(roles, *inScope.Name) {
		t.Fatalf("granted role in the client's scope missing: %v", roles)
	}
	if slices.Contains(roles, *outOfScope.Name) {
		t.Fatalf("a role outside the exchange client's scope reached the token: %v", roles)
	}
	if err := kc.Admin.DeleteRealmRoleFromUser(ctx, admin, kc.Realm, userID, []gocloak.Role{inScope}); err != nil {
		t.Fatal(err)
	}
	_, claims = app.mustToken(t, key)
	if slices.Contains(kctest.RealmRoles(claims), *inScope.Name) {
		t.Fatalf("removed role still in the next token: %v", kctest.RealmRoles(claims))
	}
}

func setEnabled(t *testing.T, kc *kctest.Env, userID string, enabled bool) {
	t.Helper()
	ctx := context.Background()
	admin := kc.AdminToken(t)
	u, err := kc.Admin.GetUserByID(ctx, admin, kc.Realm, userID)
	if err != nil {
		t.Fatal(err)
	}
	u.Enabled = gocloak.BoolP(enabled)
	if err := kc.Admin.UpdateUser(ctx, admin, kc.Realm, *u); err != nil {
		t.Fatalf("set enabled=%v: %v", enabled, err)
	}
}

// testUserDisabled disables a user of its own: alice is shared with the tests of other
// packages that run at the same time.
func testUserDisabled(t *testing.T, app *running) {
	kc := app.kc
	userID, username := kc.TempUser(t, "kw-disabled")
	_, key := app.createKey(t, kc.Login(t, username), "disabled-user")
	app.mustToken(t, key)
	setEnabled(t, kc, userID, false)
	got := app.exchange(t, key)
	if got.status != http.StatusUnauthorized || got.body["error"] != "invalid_grant" || got.body["access_token"] != nil {
		t.Fatalf("disabled user: %d %s", got.status, got.raw)
	}
	setEnabled(t, kc, userID, true)
	app.mustToken(t, key) // the key itself was never at fault
}

func testDeletedKey(t *testing.T, app *running) {
	userToken := app.kc.Login(t, "alice")
	id, key := app.createKey(t, userToken, "to-delete")
	app.mustToken(t, key)
	if got := call(t, "DELETE", app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+userToken); got.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", got.status, got.raw)
	}
	if got := app.exchange(t, key); got.status != http.StatusUnauthorized || got.body["error"] != "invalid_grant" {
		t.Fatalf("deleted key: %d %s", got.status, got.raw)
	}
	list := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+userToken)
	if strings.Contains(list.raw, id) {
		t.Fatal("deleted key still listed")
	}
}

func testIsolation(t *testing.T, app *running) {
	kc := app.kc
	aliceToken, bobToken := kc.Login(t, "alice"), kc.Login(t, "bob")
	id, key := app.createKey(t, aliceToken, "alice-only")
	list := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+bobToken)
	if list.status != http.StatusOK || strings.Contains(list.raw, id) {
		t.Fatalf("bob's list: %d, shows alice's key: %v", list.status, strings.Contains(list.raw, id))
	}
	if got := call(t, "DELETE", app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+bobToken); got.status != http.StatusNotFound {
		t.Fatalf("bob deleting alice's key: %d", got.status)
	}
	app.mustToken(t, key)
	mine := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+aliceToken)
	if !strings.Contains(mine.raw, id) || strings.Contains(mine.raw, key) {
		t.Fatal("alice's list must show her key without its secret")
	}
}

func testBadKeys(t *testing.T, app *running) {
	_, key := app.createKey(t, app.kc.Login(t, "alice"), "typo-source")
	last := key[len(key)-1]
	swap := byte('0')
	if last == '0' {
		swap = '1'
	}
	for name, k := range map[string]string{
		"garbage":        "not-a-key",
		"missing":        "",
		"wrong checksum": key[:len(key)-1] + string(swap),
	} {
		got := app.exchange(t, k)
		if got.status != http.StatusUnauthorized || got.body["error"] != "invalid_grant" {
			t.Fatalf("%s: %d %s", name, got.status, got.raw)
		}
	}
}

func testSessions(t *testing.T, app *running) {
	kc := app.kc
	// A throw-away user: other packages' tests log alice in meanwhile, each login a session.
	userID, username := kc.TempUser(t, "sessions")
	_, key := app.createKey(t, kc.Login(t, username), "sessions")
	count := func() int {
		s, err := kc.Admin.GetUserSessions(context.Background(), kc.AdminToken(t), kc.Realm, userID)
		if err != nil {
			t.Fatal(err)
		}
		return len(s)
	}
	before := count()
	for i := 0; i < 100; i++ {
		app.mustToken(t, key)
	}
	if after := count(); after > before+1 {
		t.Fatalf("the owner's sessions grew from %d to %d over 100 exchanges", before, after)
	}
}

func testLogsClean(t *testing.T, app *running) {
	logs := app.logs.String()
	if !strings.Contains(logs, `"route":"/v1/token"`) {
		t.Fatal("no request was logged: the check below would prove nothing")
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for _, s := range secrets {
		// Tokens and keys are long; any 20-character slice of one in a log is a leak.
		for i := 0; i+20 <= len(s); i += 10 {
			if strings.Contains(logs, s[i:i+20]) {
				t.Fatalf("a key or token appears in the logs")
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "request" && m["request_id"] == "" {
			t.Fatalf("request logged without a request id: %q", line)
		}
	}
}

func createKeyWith(t *testing.T, app *running, userToken, body string) map[string]any {
	t.Helper()
	got := call(t, "POST", app.url+"/v1/keys", strings.NewReader(body),
		"Authorization", "Bearer "+userToken, "Content-Type", "application/json")
	if got.status != http.StatusCreated {
		t.Fatalf("create key: %d %s", got.status, got.raw)
	}
	remember(got.body["key"].(string))
	return got.body
}

func exchangeForm(t *testing.T, app *running, key, scope string) reply {
	t.Helper()
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {key},
		"subject_token_type": {"urn:keyward:params:oauth:token-type:api-key"},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	return call(t, "POST", app.url+"/v1/token", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
}

func testScopes(t *testing.T, app *running) {
	userToken := app.kc.Login(t, "alice")
	key := createKeyWith(t, app, userToken, `{"name":"scoped","scopes":["phone","address"]}`)["key"].(string)
	has := func(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

	full := exchangeForm(t, app, key, "")
	if full.status != 200 || !has(full.body["scope"].(string), "phone") || !has(full.body["scope"].(string), "address") {
		t.Fatalf("key scopes not requested: %d %s", full.status, full.raw)
	}
	claims := kctest.Claims(t, full.body["access_token"].(string))
	if !has(claims["scope"].(string), "phone") {
		t.Fatalf("the token's scope claim %v lacks phone", claims["scope"])
	}
	narrow := exchangeForm(t, app, key, "phone")
	if narrow.status != 200 || !has(narrow.body["scope"].(string), "phone") || has(narrow.body["scope"].(string), "address") {
		t.Fatalf("narrowed exchange: %d %s", narrow.status, narrow.raw)
	}
	if wide := exchangeForm(t, app, key, "phone offline_access"); wide.status != 400 || wide.body["error"] != "invalid_scope" {
		t.Fatalf("widening: %d %s", wide.status, wide.raw)
	}
	plain := createKeyWith(t, app, userToken, `{"name":"unscoped"}`)["key"].(string)
	if got := exchangeForm(t, app, plain, "phone"); got.status != 400 || got.body["error"] != "invalid_scope" {
		t.Fatalf("scope on an unscoped key: %d %s", got.status, got.raw)
	}
	unknown := createKeyWith(t, app, userToken, `{"name":"unknown-scope","scopes":["no-such-scope"]}`)["key"].(string)
	if got := exchangeForm(t, app, unknown, ""); got.status != 400 || got.body["error"] != "invalid_scope" {
		t.Fatalf("a scope Keycloak does not know: %d %s", got.status, got.raw)
	}
}

func testRefusedKeysAlike(t *testing.T, app *running) {
	userToken := app.kc.Login(t, "alice")
	auth := []string{"Authorization", "Bearer " + userToken, "Content-Type", "application/json"}
	inactive := createKeyWith(t, app, userToken, `{"name":"inactive"}`)
	call(t, "PATCH", app.url+"/v1/keys/"+inactive["id"].(string), strings.NewReader(`{"enabled":false}`), auth...)
	deleted := createKeyWith(t, app, userToken, `{"name":"deleted"}`)
	call(t, "DELETE", app.url+"/v1/keys/"+deleted["id"].(string), nil, auth...)
	rotated := createKeyWith(t, app, userToken, `{"name":"rotated"}`)
	if got := call(t, "POST", app.url+"/v1/keys/"+rotated["id"].(string)+"/rotate", strings.NewReader(`{"grace_period_hours":0}`), auth...); got.status != 201 {
		t.Fatalf("rotate: %d %s", got.status, got.raw)
	}
	var bodies []string
	for name, k := range map[string]string{
		"inactive": inactive["key"].(string), "deleted": deleted["key"].(string), "past grace": rotated["key"].(string),
	} {
		got := app.exchange(t, k)
		if got.status != http.StatusUnauthorized || got.body["error"] != "invalid_grant" {
			t.Fatalf("%s key: %d %s", name, got.status, got.raw)
		}
		bodies = append(bodies, got.raw)
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("refusals can be told apart: %q", bodies)
	}
}

func testRotationRace(t *testing.T, app *running) {
	userToken := app.kc.Login(t, "alice")
	id := createKeyWith(t, app, userToken, `{"name":"race"}`)["id"].(string)
	var wg sync.WaitGroup
	statuses := make(chan int, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := call(t, "POST", app.url+"/v1/keys/"+id+"/rotate", nil, "Authorization", "Bearer "+userToken)
			if got.status == 201 {
				remember(got.body["key"].(string))
			}
			statuses <- got.status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[409] != 49 {
		t.Fatalf("statuses %v, want one 201 and 49 409", count)
	}
	list := call(t, "GET", app.url+"/v1/keys?q=race&limit=100", nil, "Authorization", "Bearer "+userToken)
	n := 0
	for _, it := range list.body["items"].([]any) {
		if it.(map[string]any)["name"] == "race" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d keys named race after the race, want the old and the new", n)
	}
}

func testMetrics(t *testing.T, app *running) {
	resp, err := http.Get(app.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	issued := regexp.MustCompile(`(?m)^keyward_exchanges_total\{outcome="issued",via="token"\} ([0-9.e+]+)$`).FindStringSubmatch(text)
	if resp.StatusCode != 200 || issued == nil || issued[1] == "0" {
		t.Fatalf("/metrics: %d, issued exchanges %v", resp.StatusCode, issued)
	}
	for _, want := range []string{"keyward_keycloak_request_duration_seconds_bucket", `keyward_exchange_denials_total{reason="malformed"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	alice := app.kc.UserID(t, "alice")
	if strings.Contains(text, alice) || strings.Contains(text, "kw_live_") || strings.Contains(text, "kw_test_") {
		t.Fatal("/metrics holds a user id or a key")
	}
}

// What Keyward publishes is enough to start a person's login at the real Keycloak:
// the realm's discovery document has a device endpoint, and the published public
// client may use it.
func TestDiscovery_EnoughToStartADeviceLogin(t *testing.T) {
	kc := kctest.Require(t)
	app := startApp(t, kc, "")
	got := call(t, "GET", app.url+"/.well-known/keyward-configuration", nil)
	if got.status != http.StatusOK || got.body["issuer"] != kc.Issuer() || got.body["cli_client_id"] != "keyward-cli" ||
		got.body["token_endpoint"] != kc.PublicURL+"/v1/token" || got.body["audience"] != kc.ClientID {
		t.Fatalf("discovery: %d %s", got.status, got.raw)
	}
	oidc := call(t, "GET", got.body["issuer"].(string)+"/.well-known/openid-configuration", nil)
	device, _ := oidc.body["device_authorization_endpoint"].(string)
	if device == "" {
		t.Fatalf("the realm's discovery has no device endpoint: %s", oidc.raw)
	}
	start := call(t, "POST", device, strings.NewReader(url.Values{"client_id": {got.body["cli_client_id"].(string)}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	if start.status != http.StatusOK || start.body["device_code"] == nil || start.body["user_code"] == nil {
		t.Fatalf("device authorization with the published client: %d %s", start.status, start.raw)
	}
}
