package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/testkit/fakekc"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/leaks"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/ratelimit"
)

// Small fakes at the interfaces; the real Keycloak and stores are exercised by the
// integration tests in cmd/keyward and keycloak.

type fakeVerifier map[string]keycloak.Claims

func (f fakeVerifier) Verify(_ context.Context, raw string) (keycloak.Claims, error) {
	if raw == "down" {
		return keycloak.Claims{}, keycloak.ErrUnavailable
	}
	c, ok := f[raw]
	if !ok {
		return keycloak.Claims{}, keycloak.ErrInvalidToken
	}
	return c, nil
}

type fakeMinter struct{ prepareErr error }

func (f *fakeMinter) Prepare(context.Context, exchange.Owner) error { return f.prepareErr }

func (f *fakeMinter) Mint(_ context.Context, owner, scope string) (keycloak.Token, error) {
	return keycloak.Token{AccessToken: testkit.IssuedToken(owner, owner, nil, nil), ExpiresIn: 300, Scope: scope}, nil
}

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

type harness struct {
	engine *gin.Engine
	store  *models.Store
	minter *fakeMinter
	usage  *exchange.Usage
	clock  *testkit.Clock
}

// harnessConfig is everything newHarness wires. Options change it before the wiring;
// the store, hasher, minter, clock and audit recorder are filled in after them, so the
// services always share them.
type harnessConfig struct {
	keys   keys.Config
	limits exchange.LimitPolicy // for the key service and the exchange alike
	server Config               // Keys and Exchanger are built from the two above
	// consumerKeys, when set, turns consumer keys on (consumerkeys_test.go).
	consumerKeys *consumerKeysFake
	// wrapKeys, when set, stands between the handlers and the key service.
	wrapKeys func(keys.API) keys.API
}

// harnessOption changes the harness's configuration.
type harnessOption func(*harnessConfig)

// withKeys lets a test change the key service's configuration.
func withKeys(tune func(*keys.Config)) harnessOption {
	return func(c *harnessConfig) { tune(&c.keys) }
}

// strict is the policy of a careful deployment: unlimited keys are forbidden and only
// the proxy 10.0.0.1 is believed about the client's address.
func strict() harnessOption {
	return func(c *harnessConfig) {
		c.limits.AllowUnlimited = false
		c.server.TrustedProxies = []string{"10.0.0.1"}
	}
}

// withProvisioning serves the admin routes on p.
func withProvisioning(p provisioning.API) harnessOption {
	return func(c *harnessConfig) { c.server.Provisioning = p }
}

// newHarness serves the real services on a real SQLite store, with Keycloak faked at
// its interfaces (the real one is exercised by the integration tests). It takes a
// testing.TB so that a fuzz target builds one harness for all its inputs.
func newHarness(tb testing.TB, opts ...harnessOption) *harness {
	tb.Helper()
	gin.SetMode(gin.TestMode)
	store := openStore(tb)
	h, err := exchange.NewHasher([]byte(strings.Repeat("k", 32)))
	if err != nil {
		tb.Fatal(err)
	}
	deny, err := exchange.NewRoleDenylist([]string{"realm-admin", "keyward-admin"})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := harnessConfig{
		keys: keys.Config{
			Users: fakekc.Users{
				"alice": {ID: "alice-id", Username: "alice", Enabled: true},
				"bob":   {ID: "bob-id", Username: "bob", Enabled: true},
				"carol": {ID: "carol-id", Username: "carol", Enabled: true},
				// root holds a realm-management role through a group; ci is a client's
				// service account.
				"root":               {ID: "root-id", Username: "root", Enabled: true},
				"dave":               {ID: "dave-id", Username: "dave", Enabled: true},
				"service-account-ci": {ID: "sa-ci-id", Username: "service-account-ci", Enabled: true, ServiceAccount: true},
			},
			Roles: fakekc.Roles{
				"root-id":  {Realm: []string{"default-roles-keyward"}, Clients: map[string][]string{"realm-management": {"manage-users"}}},
				"carol-id": {Realm: []string{"default-roles-keyward", "keyward-admin"}},
				"dave-id":  {Realm: []string{"default-roles-keyward", "keyward-admin"}},
			},
			Deny:         deny,
			OwnerMaxRate: ratelimit.Limit{Requests: 10000, Window: time.Minute},
		},
		limits: exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 1000, Window: time.Minute}, AllowUnlimited: true},
		server: Config{
			Log: zap.NewNop(),
			Verifier: fakeVerifier{
				"alice-token":    {Subject: "alice-id", Username: "alice", AuthParty: "keyward-cli"},
				"bob-token":      {Subject: "bob-id", Username: "bob", AuthParty: "keyward-cli"},
				"carol-token":    {Subject: "carol-id", Username: "carol", AuthParty: "keyward-cli", RealmRoles: []string{"keyward-admin"}},
				"exchange-token": {Subject: "alice-id", Username: "alice", AuthParty: "keyward"},
				"limited-token":  {Subject: "alice-id", Username: "alice", AuthParty: "keyward-limited"},
				"root-token":     {Subject: "root-id", Username: "root", AuthParty: "keyward-cli"},
				"cc-token":       {Subject: "sa-ci-id", Username: "service-account-ci", AuthParty: "ci", ClientCredentials: true},
				"sa-token":       {Subject: "sa-ci-id", Username: "service-account-ci", AuthParty: "keyward-cli"},
				// The admin routes' callers: an admin and a plain user.
				"admin-token": {Subject: "carol-id", Username: "carol", AuthParty: "keyward-cli", RealmRoles: []string{"keyward-admin"}},
				"user-token":  {Subject: "alice-id", Username: "alice", AuthParty: "keyward-cli", RealmRoles: []string{"default-roles-keyward"}},
			},
			Principals:      fakekc.Principals{"sa-ci-id": true},
			Audit:           audit.NewReader(store),
			JWKS:            jwk.NewSet(),
			KeyTokenClients: []string{"keyward", "keyward-limited"},
			Database:        pinger{},
			Keycloak:        pinger{},
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	m := &fakeMinter{}
	clock := testkit.NewClock(time.Now().UTC())
	usage := exchange.NewUsage(store, zap.NewNop(), time.Hour)
	kc := cfg.keys
	kc.Store, kc.Hasher, kc.Minter, kc.Usage, kc.Limits, kc.Clock = store, h, m, store, cfg.limits, clock.Now
	kc.Audit = audit.NewRecorder(store, zap.NewNop(), clock.Now)
	sc := cfg.server
	svc := keys.New(kc)
	sc.Keys = svc
	if cfg.wrapKeys != nil {
		sc.Keys = cfg.wrapKeys(sc.Keys)
	}
	ec := exchange.ExchangerConfig{
		Keys: store, Hasher: h, Minter: m, Usage: usage, Limits: cfg.limits,
		Limiter: ratelimit.NewMemory(clock.Now), Clock: clock.Now,
	}
	if ck := cfg.consumerKeys; ck != nil {
		svc.UseConsumers(ck)
		ec.KeyClients, ec.ConsumerMinter, ec.Principals = ck, ck, fakekc.Principals{ck.client.ServiceAccountID: true}
	}
	sc.Exchanger = exchange.NewExchanger(ec)
	sc.Clock = clock.Now
	if sc.Leaks == nil {
		sc.Leaks = leaks.New(leaks.Config{Store: store, Hasher: h, Audit: kc.Audit, Clock: clock.Now,
			Limiter: ratelimit.NewMemory(clock.Now), Rate: 20})
	}
	return &harness{engine: New(sc), store: store, minter: m, usage: usage, clock: clock}
}

// openStore opens a fresh SQLite store in a temporary folder, closed when tb ends.
func openStore(tb testing.TB) *models.Store {
	tb.Helper()
	store, err := models.Open(context.Background(), filepath.Join(tb.TempDir(), "keyward.db"), zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

// keys returns every stored key, deleted ones excluded.
func (h *harness) keys(t *testing.T) []models.Key {
	t.Helper()
	ks, err := h.store.ListKeys(context.Background(), models.KeyFilter{Now: h.clock.Now(), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func (h *harness) do(method, path, token, contentType, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	return rec
}

// createRefused posts each body to /v1/keys as token's caller and wants 400 for every one.
func (h *harness) createRefused(t *testing.T, token string, bodies map[string]string) {
	t.Helper()
	for name, body := range bodies {
		rec := h.do("POST", "/v1/keys", token, "application/json", body)
		if rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
	}
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not JSON: %q", rec.Body.String())
	}
	return m
}

func (h *harness) createKey(t *testing.T, token, body string) map[string]any {
	t.Helper()
	rec := h.do("POST", "/v1/keys", token, "application/json", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	return decode(t, rec)
}

// badBody is a request body a route refuses: the status and a word the problem carries.
type badBody struct {
	name, contentType, body string
	status                  int
	mentions                string
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// --- 2xx ---

func TestCreateKey_201_KeyShownOnce(t *testing.T) {
	h := newHarness(t)
	before := time.Now()
	got := h.createKey(t, "alice-token", `{"name":"laptop","description":"my laptop"}`)
	key, _ := got["key"].(string)
	if !strings.HasPrefix(key, "kw_live_") {
		t.Fatalf("key %q does not start with kw_live_", got["prefix"])
	}
	if got["name"] != "laptop" || got["status"] != "active" || got["environment"] != "production" {
		t.Fatalf("unexpected fields: %v", got)
	}
	if !strings.HasPrefix(key, got["prefix"].(string)) {
		t.Fatal("prefix is not the start of the key")
	}
	exp, err := time.Parse(time.RFC3339, got["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if d := exp.Sub(before); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("default expiry is %v away, want 365 days", d)
	}
	list := decode(t, h.do("GET", "/v1/keys", "alice-token", "", ""))
	if strings.Contains(mustJSON(list), key[len(got["prefix"].(string)):]) {
		t.Fatal("the list shows the secret")
	}
	items := list["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["key"] != nil {
		t.Fatalf("list: %v", list)
	}
	for _, k := range h.keys(t) {
		if strings.Contains(string(k.SecretHash), key) || len(k.SecretHash) != 32 {
			t.Fatal("stored value is not a 32-byte hash")
		}
	}
}

func TestCreateKey_Environments(t *testing.T) {
	h := newHarness(t)
	for env, prefix := range map[string]string{"development": "kw_test_", "staging": "kw_test_", "production": "kw_live_"} {
		got := h.createKey(t, "alice-token", `{"name":"k-`+env+`","environment":"`+env+`"}`)
		if !strings.HasPrefix(got["key"].(string), prefix) {
			t.Fatalf("%s key starts with %q", env, got["prefix"])
		}
	}
	got := h.createKey(t, "alice-token", `{"name":"forever","never_expires":true}`)
	if got["expires_at"] != nil {
		t.Fatalf("never_expires key has expires_at %v", got["expires_at"])
	}
}

func TestToken_200_HeaderAndFormAgree(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"a"}`)["key"].(string)
	form := url.Values{
		"grant_type":         {api.GrantTokenExchange},
		"subject_token":      {key},
		"subject_token_type": {api.TokenTypeAPIKey},
	}.Encode()
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"X-API-Key":            h.do("POST", "/v1/token", "", "", "", "X-API-Key", key),
		"Authorization ApiKey": h.do("POST", "/v1/token", "", "", "", "Authorization", "ApiKey "+key),
		"RFC 8693 form":        h.do("POST", "/v1/token", "", "application/x-www-form-urlencoded", form),
	} {
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
		got := decode(t, rec)
		if got["access_token"] != testkit.IssuedToken("alice-id", "alice-id", nil, nil) || got["token_type"] != "Bearer" ||
			got["issued_token_type"] != api.TokenTypeAccess || got["expires_in"] != float64(300) {
			t.Fatalf("%s: %v", name, got)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: Cache-Control %q", name, rec.Header().Get("Cache-Control"))
		}
	}
}

func TestOpenAPI_DocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	doc := openAPIDocument()
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document invalid: %v", err)
	}
	for _, r := range h.engine.Routes() {
		item := doc.Paths.Value(docPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in /openapi.json", r.Method, r.Path)
		}
	}
	rec := h.do("GET", "/openapi.json", "", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"openapi":"3.0.3"`) {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
}

// --- 400 ---

func TestCreateKey_400_BadInput(t *testing.T) {
	cases := []badBody{
		{"empty body", "application/json", "", 400, "body"},
		{"not JSON", "application/json", "name=laptop", 400, "malformed"},
		{"truncated JSON", "application/json", `{"name":"lap`, 400, "malformed"},
		{"array", "application/json", `["laptop"]`, 400, "object"},
		{"two objects", "application/json", `{"name":"a"}{"name":"b"}`, 400, "one JSON object"},
		{"name missing", "application/json", `{}`, 400, "name"},
		{"name empty", "application/json", `{"name":"   "}`, 400, "name"},
		{"name too long", "application/json", `{"name":"` + strings.Repeat("n", 101) + `"}`, 400, "name"},
		{"name wrong type", "application/json", `{"name":42}`, 400, "name"},
		{"name with control chars", "application/json", `{"name":"a\u0000b"}`, 400, "name"},
		{"description too long", "application/json", `{"name":"a","description":"` + strings.Repeat("d", 501) + `"}`, 400, "description"},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, 400, "admin"},
		{"bad environment", "application/json", `{"name":"a","environment":"prod"}`, 400, "environment"},
		{"expiry zero", "application/json", `{"name":"a","expires_in_days":0}`, 400, "expires_in_days"},
		{"expiry too far", "application/json", `{"name":"a","expires_in_days":3651}`, 400, "expires_in_days"},
		{"expiry as string", "application/json", `{"name":"a","expires_in_days":"30"}`, 400, "expires_in_days"},
		{"two expiry forms", "application/json", `{"name":"a","expires_in_days":30,"never_expires":true}`, 400, "one expiry form only"},
		{"invalid UTF-8", "application/json", "{\"name\":\"\xff\xfe\"}", 400, "UTF-8"},
		{"wrong content type", "text/plain", `{"name":"a"}`, 415, "application/json"},
		{"oversized", "application/json", `{"name":"a","description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "64 KiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.do("POST", "/v1/keys", "alice-token", tc.contentType, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if !strings.Contains(rec.Body.String(), tc.mentions) {
				t.Fatalf("problem does not mention %q: %s", tc.mentions, rec.Body.String())
			}
			if len(h.keys(t)) != 0 {
				t.Fatal("a key was written for bad input")
			}
		})
	}
}

func TestToken_4xx_BadRequests(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"a"}`)["key"].(string)
	typo := key[:len(key)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(key, "0")]
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formCT = "application/x-www-form-urlencoded"
	cases := []struct {
		name, contentType, body string
		headers                 []string
		status                  int
		code                    string
	}{
		{"no key at all", "", "", nil, 401, "invalid_grant"},
		{"garbage key", "", "", []string{"X-API-Key", "garbage"}, 401, "invalid_grant"},
		{"wrong checksum", "", "", []string{"X-API-Key", typo}, 401, "invalid_grant"},
		{"sql in key", "", "", []string{"X-API-Key", "' OR '1'='1"}, 401, "invalid_grant"},
		{"bearer instead of apikey", "", "", []string{"Authorization", "Bearer " + key}, 400, "invalid_request"},
		{"key twice", "", "", []string{"X-API-Key", key, "Authorization", "ApiKey " + key}, 400, "invalid_request"},
		{"wrong grant type", formCT, form("grant_type", "password", "username", "alice"), nil, 400, "unsupported_grant_type"},
		{"missing subject_token", formCT, form("grant_type", api.GrantTokenExchange, "subject_token_type", api.TokenTypeAPIKey), nil, 400, "invalid_request"},
		{"wrong subject_token_type", formCT, form("grant_type", api.GrantTokenExchange, "subject_token", key, "subject_token_type", api.TokenTypeAccess), nil, 400, "invalid_request"},
		{"repeated parameter", formCT, form("grant_type", api.GrantTokenExchange, "subject_token", key, "subject_token", key, "subject_token_type", api.TokenTypeAPIKey), nil, 400, "invalid_request"},
		{"form without grant_type", formCT, form("subject_token", key), nil, 400, "invalid_request"},
		{"json body", "application/json", `{"subject_token":"x"}`, nil, 400, "invalid_request"},
		{"malformed form", formCT, "%zz=1", nil, 400, "invalid_request"},
		{"widening scope", formCT, form("grant_type", api.GrantTokenExchange, "subject_token", key, "subject_token_type", api.TokenTypeAPIKey, "scope", "admin"), nil, 400, "invalid_scope"},
		{"audience", formCT, form("grant_type", api.GrantTokenExchange, "subject_token", key, "subject_token_type", api.TokenTypeAPIKey, "audience", "x"), nil, 400, "invalid_target"},
		{"oversized", formCT, "grant_type=" + strings.Repeat("a", 70<<10), nil, 413, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do("POST", "/v1/token", "", tc.contentType, tc.body, tc.headers...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			got := decode(t, rec)
			if got["error"] != tc.code || got["error_description"] == "" || got["access_token"] != nil {
				t.Fatalf("body %v, want error %q", got, tc.code)
			}
		})
	}
}

// --- 401 / 403 ---

func TestManagementAPI_401(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"basic auth", "Basic YWxpY2U6YWxpY2U="},
		{"empty bearer", "Bearer "},
		{"unknown token", "Bearer forged"},
		{"api key as bearer", "Bearer kw_live_abc"},
		{"token minted for an API key", "Bearer exchange-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct{ method, path, body string }{
				{"GET", "/v1/keys", ""}, {"POST", "/v1/keys", `{"name":"x"}`}, {"DELETE", "/v1/keys/x", ""},
				{"GET", "/v1/keys/x", ""}, {"PATCH", "/v1/keys/x", `{"enabled":false}`},
				{"POST", "/v1/keys/x/rotate", ""}, {"GET", "/v1/keys/x/usage", ""}, {"GET", "/v1/audit", ""},
			} {
				req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
				req.Header.Set("Content-Type", "application/json")
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				rec := httptest.NewRecorder()
				h.engine.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Header().Get("Content-Type"))
				}
			}
			if len(h.keys(t)) != 0 {
				t.Fatal("written without authentication")
			}
		})
	}
	t.Run("X-API-Key on the management API", func(t *testing.T) {
		created := newHarness(t)
		key := created.createKey(t, "alice-token", `{"name":"a"}`)["key"].(string)
		rec := created.do("GET", "/v1/keys", "", "", "", "X-API-Key", key)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("an API key listed keys: %d", rec.Code)
		}
	})
}

func TestToken_RefusedKeysLookAlike(t *testing.T) {
	h := newHarness(t)
	alive := h.createKey(t, "alice-token", `{"name":"a"}`)
	deleted := h.createKey(t, "alice-token", `{"name":"b"}`)
	h.do("DELETE", "/v1/keys/"+deleted["id"].(string), "alice-token", "", "")
	other, _ := exchange.GenerateKey(exchange.EnvLive)
	var bodies []string
	for _, k := range []string{deleted["key"].(string), other.String(), "kw_live_nonsense"} {
		rec := h.do("POST", "/v1/token", "", "", "", "X-API-Key", k)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("refused key got %d", rec.Code)
		}
		bodies = append(bodies, rec.Body.String())
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("refusals differ: %q", bodies)
	}
	if rec := h.do("POST", "/v1/token", "", "", "", "X-API-Key", alive["key"].(string)); rec.Code != 200 {
		t.Fatalf("live key refused: %d", rec.Code)
	}
}

// --- 404 ---

func TestDeleteKey_OtherUsersKey_404(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(t, "alice-token", `{"name":"a"}`)["id"].(string)
	for _, path := range []string{"/v1/keys/" + id, "/v1/keys/does-not-exist", "/v1/keys/'%20OR%201=1"} {
		if rec := h.do("DELETE", path, "bob-token", "", ""); rec.Code != http.StatusNotFound {
			t.Fatalf("bob deleting %s: %d", path, rec.Code)
		}
	}
	if list := decode(t, h.do("GET", "/v1/keys", "bob-token", "", "")); len(list["items"].([]any)) != 0 {
		t.Fatal("bob sees alice's key")
	}
	if rec := h.do("DELETE", "/v1/keys/"+id, "alice-token", "", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("alice deleting her key: %d", rec.Code)
	}
	if rec := h.do("DELETE", "/v1/keys/"+id, "alice-token", "", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("deleting twice: %d", rec.Code)
	}
}

// --- 503 ---

func TestCreateKey_KeycloakDown_503_NothingWritten(t *testing.T) {
	h := newHarness(t)
	h.minter.prepareErr = keycloak.ErrUnavailable
	rec := h.do("POST", "/v1/keys", "alice-token", "application/json", `{"name":"a"}`)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if len(h.keys(t)) != 0 {
		t.Fatal("a key was written although Keycloak failed")
	}
}

func TestReadyz(t *testing.T) {
	h := newHarness(t)
	if rec := h.do("GET", "/readyz", "", "", ""); rec.Code != 200 {
		t.Fatalf("ready: %d", rec.Code)
	}
	gin.SetMode(gin.TestMode)
	for name, cfg := range map[string][2]error{
		"database": {errors.New("db down"), nil},
		"keycloak": {nil, errors.New("kc down")},
	} {
		e := New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{cfg[0]}, Keycloak: pinger{cfg[1]}})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		checks, _ := decode(t, rec)["checks"].(map[string]any)
		if rec.Code != http.StatusServiceUnavailable || checks[name] != "down" {
			t.Fatalf("%s down: %d %v", name, rec.Code, checks)
		}
	}
}
