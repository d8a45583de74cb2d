package handlers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/leaks"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

// The OpenAPI document against the real engine: every route is driven through its
// success and its main refusals, each answer is validated against the schema the
// document declares for that route, method and status (every object is strict, so a
// field the document lacks fails), and the bodies sent are validated against the
// request schemas — the valid ones must pass, the ones built to break a declared rule
// must be refused by the document too. The body schemas are derived from package api's
// types (wire.go), so this holds the wire contract itself against the server.

// reqCheck says what the document must think of the request a case sends.
type reqCheck int

const (
	reqValid   reqCheck = iota // the document accepts the request
	reqInvalid                 // the request breaks a rule the document states
	reqAny                     // a rule the document cannot state (state, combinations), or no body at all
)

type conformance struct {
	doc  *openapi3.T
	seen map[string]map[int]bool // "METHOD /doc/path" → statuses checked
}

func newConformance(t *testing.T) *conformance {
	t.Helper()
	doc := openAPIDocument()
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document invalid: %v", err)
	}
	return &conformance{doc: doc, seen: map[string]map[int]bool{}}
}

type call struct {
	method, docPath, url string
	token, contentType   string
	body                 string
	headers              []string
	status               int
	req                  reqCheck
}

// do sends c to engine, checks the status, validates request and answer against the
// document, and returns the answer.
func (cf *conformance) do(t *testing.T, engine *gin.Engine, c call) *httptest.ResponseRecorder {
	t.Helper()
	newReq := func() *http.Request {
		r := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		for i := 0; i+1 < len(c.headers); i += 2 {
			r.Header.Set(c.headers[i], c.headers[i+1])
		}
		return r
	}
	name := c.method + " " + c.docPath
	item := cf.doc.Paths.Value(c.docPath)
	if item == nil || item.GetOperation(c.method) == nil {
		t.Fatalf("%s is not in the document", name)
	}
	route := &routers.Route{Spec: cf.doc, Path: c.docPath, PathItem: item, Method: c.method, Operation: item.GetOperation(c.method)}
	in := &openapi3filter.RequestValidationInput{
		Request:    newReq(),
		PathParams: pathParams(c.docPath, strings.SplitN(c.url, "?", 2)[0]),
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case c.req == reqValid && reqErr != nil:
		t.Errorf("%s %s: the document refuses the request %q: %v", c.method, c.url, c.body, reqErr)
	case c.req == reqInvalid && reqErr == nil:
		t.Errorf("%s %s: the document accepts the request %q, which the server refuses", c.method, c.url, c.body)
	}

	rec := httptest.NewRecorder()
	engine.ServeHTTP(rec, newReq())
	if rec.Code != c.status {
		t.Errorf("%s %s: status %d, want %d: %s", c.method, c.url, rec.Code, c.status, rec.Body.String())
		return rec
	}
	if cf.seen[name] == nil {
		cf.seen[name] = map[int]bool{}
	}
	cf.seen[name][rec.Code] = true

	in.Request = newReq() // the validated one's body was read
	in.Options = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: in.Options,
	}); err != nil {
		t.Errorf("%s %s → %d does not conform to the document: %v\nbody: %s", c.method, c.url, rec.Code, err, rec.Body.String())
	}
	if r := route.Operation.Responses.Status(rec.Code); r != nil && len(r.Value.Content) == 0 && rec.Body.Len() > 0 {
		t.Errorf("%s %s → %d: the document declares no body, the answer has %q", c.method, c.url, rec.Code, rec.Body.String())
	}
	return rec
}

// refuses checks that the document refuses a JSON body the service refuses.
func (cf *conformance) refuses(t *testing.T, method, docPath, target, body string) {
	t.Helper()
	item := cf.doc.Paths.Value(docPath)
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: pathParams(docPath, strings.SplitN(target, "?", 2)[0]),
		Route:   &routers.Route{Spec: cf.doc, Path: docPath, PathItem: item, Method: method, Operation: item.GetOperation(method)},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
	if err == nil {
		t.Errorf("%s %s: the document accepts %s, which the service refuses", method, docPath, body)
	}
}

// pathParams matches a URL path against a document path such as /v1/keys/{id}.
func pathParams(docPath, urlPath string) map[string]string {
	out := map[string]string{}
	want, got := strings.Split(docPath, "/"), strings.Split(urlPath, "/")
	for i, seg := range want {
		if strings.HasPrefix(seg, "{") && i < len(got) {
			v, _ := url.PathUnescape(got[i])
			out[strings.Trim(seg, "{}")] = v
		}
	}
	return out
}

// docPath is gin's route path in OpenAPI form: a parameter :id is {id}, and a
// catch-all *path (slashes included, which OpenAPI cannot say) is {path}, described.
func docPath(ginPath string) string {
	segs := strings.Split(ginPath, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// fullEngine registers every route New can: metrics and provisioning included.
func fullEngine() *gin.Engine {
	gin.SetMode(gin.TestMode)
	return New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{}, Keycloak: pinger{},
		Provisioning: &fakeProvisioning{}, Metrics: metricsHandler(), Leaks: leaks.New(leaks.Config{})})
}

func metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = io.WriteString(w, "# HELP keyward_up 1\nkeyward_up 1\n")
	})
}

func TestOpenAPIConformance_EveryRouteAnswersAsDocumented(t *testing.T) {
	cf := newConformance(t)
	cf.keyRoutes(t)
	cf.tokenRoute(t)
	cf.forwardAuthRoutes(t)
	cf.leakedRoute(t)
	cf.publicRoutes(t)
	cf.adminRoutes(t)
	cf.webhookRoutes(t)

	// Every route of the engine has a checked success and, on the management API, the
	// refusal of a caller without a token.
	var missing []string
	for _, r := range fullEngine().Routes() {
		name := r.Method + " " + docPath(r.Path)
		statuses := cf.seen[name]
		success := false
		for s := range statuses {
			success = success || s < 300
		}
		switch {
		case len(statuses) == 0:
			missing = append(missing, name+": no check")
		case !success:
			missing = append(missing, name+": no successful call")
		case strings.HasPrefix(r.Path, "/v1/") && r.Path != tokenRoute && !statuses[401]:
			missing = append(missing, name+": no 401")
		}
		codes := make([]int, 0, len(statuses))
		for s := range statuses {
			codes = append(codes, s)
		}
		slices.Sort(codes)
		t.Logf("%-40s %v", name, codes)
	}
	for _, m := range missing {
		t.Errorf("route without conformance check: %s", m)
	}
}

func (cf *conformance) keyRoutes(t *testing.T) {
	h := newHarness(t)
	e := h.engine
	const js = "application/json"
	post := func(token, body string, status int, rc reqCheck) map[string]any {
		rec := cf.do(t, e, call{method: "POST", docPath: "/v1/keys", url: "/v1/keys", token: token, contentType: js,
			body: body, status: status, req: rc})
		if rec.Code == 201 {
			return decode(t, rec)
		}
		return nil
	}
	full := post("alice-token", `{"name":"laptop","description":"line one\nline two","environment":"staging",
		"scopes":["openid","profile"],"metadata":{"team":"a","n":1},"rate_limit":{"requests":10,"window_seconds":60},
		"ip_allowlist":["203.0.113.0/24","2001:db8::1"],"expires_in_days":30}`, 201, reqValid)
	forever := post("alice-token", `{"name":"forever","never_expires":true,"description":null,"environment":""}`, 201, reqValid)
	limited := post("alice-token", `{"name":"one per hour","rate_limit":{"requests":1,"window_seconds":3600},"expires_at":"2031-01-01T00:00:00Z"}`, 201, reqValid)
	forBob := post("carol-token", `{"owner":"bob","name":"for-bob","rate_limit":{"unlimited":true},"ip_allowlist":["198.51.100.7"]}`, 201, reqValid)
	if full == nil || forever == nil || limited == nil || forBob == nil {
		t.Fatal("keys could not be created")
	}
	for _, bad := range []struct {
		body string
		rc   reqCheck
	}{
		{`{"name":"a","admin":true}`, reqInvalid},
		{`{"name":"a","environment":"prod"}`, reqInvalid},
		{`{"name":"a","expires_in_days":0}`, reqInvalid},
		{`{"name":"a","expires_in_days":3651}`, reqInvalid},
		{`{"name":"` + strings.Repeat("n", 101) + `"}`, reqInvalid},
		{`{"name":"a","description":"` + strings.Repeat("d", 501) + `"}`, reqInvalid},
		{`{"name":"a","scopes":["no spaces"]}`, reqInvalid},
		{`{"name":"a","rate_limit":{"requests":0,"window_seconds":60}}`, reqInvalid},
		{`{"name":"a","rate_limit":{"unlimited":true,"requests":5}}`, reqInvalid},
		{`{"name":"a","metadata":[1]}`, reqInvalid},
		{`{}`, reqInvalid},
		{`null`, reqInvalid},
		{`["a"]`, reqInvalid},
		{`{"name":"a","expires_in_days":30,"never_expires":true}`, reqAny},
		{`{"name":"a","ip_allowlist":["not a cidr"]}`, reqAny},
	} {
		post("alice-token", bad.body, 400, bad.rc)
	}
	post("alice-token", `{"owner":"bob","name":"x"}`, 403, reqAny)
	post("carol-token", `{"owner":"root","name":"x"}`, 403, reqAny) // root holds a denied role
	post("cc-token", `{"name":"x"}`, 403, reqValid)
	post("", `{"name":"x"}`, 401, reqValid)
	post("down", `{"name":"x"}`, 503, reqValid)
	cf.do(t, e, call{method: "POST", docPath: "/v1/keys", url: "/v1/keys", token: "alice-token", contentType: "text/plain",
		body: `{"name":"x"}`, status: 415, req: reqInvalid})
	cf.do(t, e, call{method: "POST", docPath: "/v1/keys", url: "/v1/keys", token: "alice-token", contentType: js,
		body: `{"name":"x","description":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413, req: reqInvalid})
	// bob reaches the most live keys a user may hold (the default 50): the next is 409.
	for i := 1; i < 50; i++ {
		if rec := h.do("POST", "/v1/keys", "bob-token", js, fmt.Sprintf(`{"name":"k%d"}`, i)); rec.Code != 201 {
			t.Fatalf("bob's key %d: %d", i, rec.Code)
		}
	}
	post("bob-token", `{"name":"one too many"}`, 409, reqValid)

	id, bobID := full["id"].(string), forBob["id"].(string)
	get := func(url, token string, status int, rc reqCheck) map[string]any {
		rec := cf.do(t, e, call{method: "GET", docPath: "/v1/keys", url: url, token: token, status: status, req: rc})
		return decode(t, rec)
	}
	if page := get("/v1/keys?status=active&environment=staging&expires=30d&sort=name&order=asc&limit=1&q=lap", "alice-token", 200, reqValid); page["next_cursor"] != nil {
		t.Errorf("one match, yet a next page: %v", page)
	}
	if page := get("/v1/keys?limit=1", "alice-token", 200, reqValid); page["next_cursor"] == nil {
		t.Errorf("three keys, one per page, yet no next page: %v", page)
	}
	get("/v1/keys?owner=bob&sort=last_used_at", "carol-token", 200, reqValid)
	get("/v1/keys?status=bogus", "alice-token", 400, reqInvalid)
	get("/v1/keys?limit=201", "alice-token", 400, reqInvalid)
	get("/v1/keys?order=up", "alice-token", 400, reqInvalid)
	get("/v1/keys?enviroment=staging", "alice-token", 400, reqAny)
	get("/v1/keys?owner=bob", "alice-token", 403, reqValid)
	get("/v1/keys", "", 401, reqValid)

	one := func(method, path, url, token, body string, status int, rc reqCheck) map[string]any {
		ct := ""
		if body != "" {
			ct = js
		}
		rec := cf.do(t, e, call{method: method, docPath: path, url: url, token: token, contentType: ct, body: body, status: status, req: rc})
		if rec.Body.Len() == 0 {
			return nil
		}
		return decode(t, rec)
	}
	const byID = "/v1/keys/{id}"
	one("GET", byID, "/v1/keys/"+id, "alice-token", "", 200, reqValid)
	one("GET", byID, "/v1/keys/"+bobID, "bob-token", "", 200, reqValid) // admin_set, unlimited
	one("GET", byID, "/v1/keys/"+id, "bob-token", "", 404, reqValid)
	one("GET", byID, "/v1/keys/"+id, "", "", 401, reqValid)

	one("PATCH", byID, "/v1/keys/"+id, "alice-token", `{"description":"new","name":null,"scopes":["openid"],"metadata":{"b":2}}`, 200, reqValid)
	one("PATCH", byID, "/v1/keys/"+id, "alice-token", `{"expires_at":"2999-01-01T00:00:00Z"}`, 400, reqAny)
	one("PATCH", byID, "/v1/keys/"+id, "alice-token", `{"enabled":"no"}`, 400, reqInvalid)
	one("PATCH", byID, "/v1/keys/"+id, "alice-token", `{"rate_limit":{"requests":1}}`, 400, reqInvalid)
	one("PATCH", byID, "/v1/keys/"+id, "bob-token", `{"enabled":false}`, 404, reqValid)
	one("PATCH", byID, "/v1/keys/"+id, "", `{"enabled":false}`, 401, reqValid)
	one("PATCH", byID, "/v1/keys/"+bobID, "carol-token", `{"enabled":false}`, 200, reqValid)
	one("PATCH", byID, "/v1/keys/"+bobID, "bob-token", `{"enabled":true}`, 403, reqValid)

	// Traffic for the usage answer: a success, a refusal, a rate limit.
	const tok = "/v1/token"
	limitedKey := limited["key"].(string)
	for _, c := range []call{
		{status: 200, headers: []string{"X-API-Key", limitedKey}},
		{status: 429, headers: []string{"X-API-Key", limitedKey}},
		{status: 401, headers: []string{"X-API-Key", full["key"].(string)}}, // outside its allowlist
	} {
		c.method, c.docPath, c.url, c.req = "POST", tok, tok, reqValid
		cf.do(t, e, c)
	}
	// And a refusal at the gateway's door, counted on its own route.
	cf.do(t, e, call{method: "GET", docPath: forwardAuthRoute, url: forwardAuthRoute, status: 401,
		headers: []string{"X-API-Key", full["key"].(string)}})
	if err := h.usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	const usage = "/v1/keys/{id}/usage"
	if u := one("GET", usage, "/v1/keys/"+limited["id"].(string)+"/usage?days=7", "alice-token", "", 200, reqValid); u["last_used_at"] == nil {
		t.Errorf("usage after an exchange: %v", u)
	}
	fullUsage := one("GET", usage, "/v1/keys/"+full["id"].(string)+"/usage?days=1", "alice-token", "", 200, reqValid)
	if v := fullUsage["period"].(map[string]any)["by_via"].(map[string]any); v["forward_auth"].(map[string]any)["denied"].(map[string]any)["ip_denied"] != float64(1) ||
		v["token"].(map[string]any)["denied"].(map[string]any)["ip_denied"] != float64(1) {
		t.Errorf("usage by route: %v", v)
	}
	one("GET", usage, "/v1/keys/"+id+"/usage", "alice-token", "", 200, reqValid)
	one("GET", usage, "/v1/keys/"+id+"/usage?days=91", "alice-token", "", 400, reqInvalid)
	one("GET", usage, "/v1/keys/"+id+"/usage?days=7", "bob-token", "", 404, reqValid)
	one("GET", usage, "/v1/keys/"+id+"/usage", "", "", 401, reqValid)

	const rotate = "/v1/keys/{id}/rotate"
	foreverID := forever["id"].(string)
	one("POST", rotate, "/v1/keys/"+foreverID+"/rotate", "alice-token", "", 201, reqValid)
	one("POST", rotate, "/v1/keys/"+foreverID+"/rotate", "alice-token", "", 409, reqValid)
	one("POST", rotate, "/v1/keys/"+id+"/rotate", "alice-token", `{"grace_period_hours":1000}`, 400, reqInvalid)
	if rotated := one("POST", rotate, "/v1/keys/"+id+"/rotate", "alice-token", `{"grace_period_hours":2}`, 201, reqValid); rotated != nil {
		one("GET", byID, "/v1/keys/"+id, "alice-token", "", 200, reqValid) // rotated_to, grace_until
	}
	one("POST", rotate, "/v1/keys/"+bobID+"/rotate", "alice-token", "", 404, reqValid)
	one("POST", rotate, "/v1/keys/"+bobID+"/rotate", "", "", 401, reqValid)

	const audit = "/v1/audit"
	if page := one("GET", audit, "/v1/audit?limit=1", "carol-token", "", 200, reqValid); page["next_cursor"] == nil {
		t.Errorf("audit: no next page: %v", page)
	}
	one("GET", audit, "/v1/audit?key="+bobID, "carol-token", "", 200, reqValid) // on_behalf_of
	one("GET", audit, "/v1/audit?since=2020-01-01T00:00:00Z&target_type=key", "alice-token", "", 200, reqValid)
	one("GET", audit, "/v1/audit?since=yesterday", "alice-token", "", 400, reqInvalid)
	one("GET", audit, "/v1/audit?limit=0", "alice-token", "", 400, reqInvalid)
	one("GET", audit, "/v1/audit?owner=bob-id", "alice-token", "", 403, reqValid)
	one("GET", audit, "/v1/audit", "", "", 401, reqValid)

	one("DELETE", byID, "/v1/keys/"+id, "alice-token", "", 204, reqValid)
	one("DELETE", byID, "/v1/keys/"+id, "alice-token", "", 404, reqValid)
	one("DELETE", byID, "/v1/keys/"+bobID, "", "", 401, reqValid)
}

func (cf *conformance) tokenRoute(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"a"}`)["key"].(string)
	const tok, formCT = "/v1/token", "application/x-www-form-urlencoded"
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	exchangeForm := func(more ...string) string {
		return form(append([]string{"grant_type", api.GrantTokenExchange, "subject_token", key, "subject_token_type", api.TokenTypeAPIKey}, more...)...)
	}
	for _, c := range []call{
		{status: 200, headers: []string{"X-API-Key", key}},
		{status: 200, headers: []string{"Authorization", "ApiKey " + key}},
		{status: 200, contentType: formCT, body: exchangeForm()},
		{status: 400, contentType: formCT, body: form("grant_type", "password"), req: reqInvalid},
		{status: 400, contentType: formCT, body: form("grant_type", api.GrantTokenExchange, "subject_token", key, "subject_token_type", api.TokenTypeAccess), req: reqInvalid},
		{status: 400, contentType: formCT, body: exchangeForm("audience", "x"), req: reqAny},
		{status: 400, contentType: formCT, body: exchangeForm("scope", "admin"), req: reqAny},
		{status: 400, contentType: "application/json", body: `{"subject_token":"x"}`, req: reqInvalid},
		{status: 401, headers: []string{"X-API-Key", "kw_live_nonsense"}},
		{status: 401},
		{status: 413, contentType: formCT, body: "grant_type=" + strings.Repeat("a", 70<<10), req: reqInvalid},
	} {
		c.method, c.docPath, c.url = "POST", tok, tok
		cf.do(t, h.engine, c)
	}
}

func (cf *conformance) publicRoutes(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/jwks.json", "/.well-known/keyward-configuration", "/openapi.json"} {
		cf.do(t, h.engine, call{method: "GET", docPath: path, url: path, status: 200})
	}
	cf.do(t, fullEngine(), call{method: "GET", docPath: "/metrics", url: "/metrics", status: 200})
	down := New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{keycloak.ErrUnavailable}, Keycloak: pinger{}})
	cf.do(t, down, call{method: "GET", docPath: "/readyz", url: "/readyz", status: 503})
	// a JWKS with a key in it
	set := jwk.NewSet()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = set.AddKey(k)
	withKey := New(Config{Log: zap.NewNop(), JWKS: set, Database: pinger{}, Keycloak: pinger{}})
	cf.do(t, withKey, call{method: "GET", docPath: "/.well-known/jwks.json", url: "/.well-known/jwks.json", status: 200})
}

func (cf *conformance) adminRoutes(t *testing.T) {
	const js = "application/json"
	conflict := errs.Because(provisioning.ErrConflict, "the name is taken")
	routes := []struct {
		method, docPath, url, body string
		ok                         int
		badBody                    string // breaks a declared rule of the body; "" for routes without one
		notFound, conflicts        bool
	}{
		{"GET", "/v1/acl-groups", "/v1/acl-groups", "", 200, "", false, false},
		{"POST", "/v1/acl-groups", "/v1/acl-groups", `{"name":"analytics","description":"who reads reports"}`, 201, `{"name":".hidden"}`, false, true},
		{"DELETE", "/v1/acl-groups/{name}", "/v1/acl-groups/a", "", 204, "", true, true},
		{"POST", "/v1/consumers", "/v1/consumers", `{"name":"shop","environment":"staging","acl_groups":["a","b"]}`, 201, `{"name":"Shop"}`, false, true},
		{"GET", "/v1/consumers", "/v1/consumers?q=sh&environment=production&sort=-name&limit=10", "", 200, "", false, false},
		{"GET", "/v1/consumers/{id}", consumerPath, "", 200, "", true, false},
		{"PATCH", "/v1/consumers/{id}", consumerPath, `{"description":"x","acl_groups":[],"name":null}`, 200, `{"acl_groups":["a","a"]}`, true, true},
		{"DELETE", "/v1/consumers/{id}", consumerPath + "?cascade=true", "", 204, "", true, true},
		{"POST", "/v1/consumers/{id}/clients", consumerPath + "/clients", `{"client_id":"shop-web","redirect_uris":["https://shop.example/cb"]}`, 201, `{"client_id":"ab"}`, true, true},
		{"GET", "/v1/clients", "/v1/clients?consumer=" + fakeConsumer.ID + "&enabled=true&sort=client_id&limit=5", "", 200, "", false, false},
		{"GET", "/v1/clients/{id}", clientPath, "", 200, "", true, false},
		{"PATCH", "/v1/clients/{id}", clientPath, `{"enabled":false,"redirect_uris":["http://127.0.0.1:8080/cb"]}`, 200, `{}`, true, true},
		{"DELETE", "/v1/clients/{id}", clientPath, "", 204, "", true, false},
		{"GET", "/v1/clients/{id}/secret", clientPath + "/secret", "", 200, "", true, false},
		{"POST", "/v1/clients/{id}/secret", clientPath + "/secret", "", 200, "", true, false},
		{"POST", "/v1/clients/{id}/test", clientPath + "/test", `{"secret":"tried"}`, 200, `{"secret":""}`, true, false},
	}
	for _, r := range routes {
		ct := ""
		if r.body != "" {
			ct = js
		}
		c := call{method: r.method, docPath: r.docPath, url: r.url, contentType: ct, body: r.body}
		with := func(token string, status int, rc reqCheck, err error) {
			h := newAdminHarness(t)
			h.fake.err = err
			c := c
			c.token, c.status, c.req = token, status, rc
			cf.do(t, h.engine, c)
		}
		with("admin-token", r.ok, reqValid, nil)
		with("user-token", 403, reqValid, nil)
		with("", 401, reqValid, nil)
		with("admin-token", 503, reqValid, fmt.Errorf("keycloak: %w", keycloak.ErrUnavailable))
		if r.notFound {
			with("admin-token", 404, reqValid, fmt.Errorf("lookup: %w", models.ErrNotFound))
		}
		if r.conflicts {
			with("admin-token", 409, reqValid, conflict)
		}
		if r.body != "" {
			// The binder refuses unknown fields; the service's rules (the fake has none)
			// are tested in provisioning: here the document must state them.
			unknown := c
			unknown.token, unknown.body, unknown.status, unknown.req = "admin-token", `{"admin":true}`, 400, reqInvalid
			cf.do(t, newAdminHarness(t).engine, unknown)
			cf.refuses(t, c.method, c.docPath, c.url, r.badBody)
		}
	}
	// Query strings the strict parser refuses.
	h := newAdminHarness(t)
	for _, c := range []call{
		{method: "GET", docPath: "/v1/acl-groups", url: "/v1/acl-groups?q=x", req: reqAny},
		{method: "GET", docPath: "/v1/consumers", url: "/v1/consumers?limit=ten", req: reqInvalid},
		{method: "GET", docPath: "/v1/clients", url: "/v1/clients?enabled=maybe", req: reqInvalid},
		{method: "DELETE", docPath: "/v1/consumers/{id}", url: consumerPath + "?cascade=yes", req: reqInvalid},
	} {
		c.token, c.status = "admin-token", 400
		cf.do(t, h.engine, c)
	}
	// Provisioning not configured.
	e := New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{}, Keycloak: pinger{},
		Verifier: fakeVerifier{"admin-token": {Subject: "c", RealmRoles: []string{"keyward-admin"}}}})
	cf.do(t, e, call{method: "GET", docPath: "/v1/consumers", url: "/v1/consumers", token: "admin-token", status: 503})
}

// The check bites: a real answer passes, and the same answer with one drift fails.
func TestOpenAPIConformance_DriftIsCaught(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(t, "alice-token", `{"name":"a"}`)["id"].(string)
	op := openAPIDocument().Paths.Value("/v1/keys/{id}").Get
	schema := op.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	answer := func() map[string]any { return decode(t, h.do("GET", "/v1/keys/"+id, "alice-token", "", "")) }
	if err := schema.VisitJSON(answer()); err != nil {
		t.Fatalf("the real answer does not conform: %v", err)
	}
	for name, drift := range map[string]func(m map[string]any){
		"a field the document lacks":     func(m map[string]any) { m["secret_hash"] = "x" },
		"a status outside the enum":      func(m map[string]any) { m["status"] = "gone" },
		"a name over its bound":          func(m map[string]any) { m["name"] = strings.Repeat("n", 101) },
		"a prefix off its pattern":       func(m map[string]any) { m["prefix"] = "kw_prod_x" },
		"a required field missing":       func(m map[string]any) { delete(m, "last_used_ip") },
		"null where none is allowed":     func(m map[string]any) { m["scopes"] = nil },
		"an unknown field in rate_limit": func(m map[string]any) { m["rate_limit"].(map[string]any)["burst"] = 1.0 },
	} {
		m := answer()
		drift(m)
		if err := schema.VisitJSON(m); err == nil {
			t.Errorf("%s: the document accepts it", name)
		}
	}
}

// Every path of the document answers a method it does not declare with 405, an Allow
// header naming exactly the declared methods, and a problem+json body. The door
// (/v1/forward-auth) is the exception: it answers every method a gateway forwards.
func TestOpenAPIConformance_UndeclaredMethod_405WithAllow(t *testing.T) {
	doc := openAPIDocument()
	engine := fullEngine()
	served := map[string]bool{}
	for _, r := range engine.Routes() {
		served[docPath(r.Path)] = true
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace, "QUERY", "PROPFIND"}
	checked := 0
	for path, item := range doc.Paths.Map() {
		if !served[path] || isForwardAuth(path) {
			continue
		}
		declared := slices.Sorted(maps.Keys(item.Operations()))
		target := strings.NewReplacer("{id}", "x1", "{name}", "n1", "{delivery_id}", "d1").Replace(path)
		for _, m := range methods {
			if slices.Contains(declared, m) {
				continue
			}
			w := httptest.NewRecorder()
			engine.ServeHTTP(w, httptest.NewRequest(m, target, nil))
			allow := strings.Split(w.Header().Get("Allow"), ", ")
			slices.Sort(allow)
			if w.Code != http.StatusMethodNotAllowed || !slices.Equal(allow, declared) ||
				w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s: %d, Allow %q, %s; want 405, Allow %v, problem+json",
					m, target, w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"), declared)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d undeclared methods checked: the document's paths were not served", checked)
	}
	// The leak report's path is also matched by /v1/keys/:id: still POST only.
	for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, httptest.NewRequest(m, leakedRoute, strings.NewReader(`[]`)))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s %s: %d, Allow %q; want 405, Allow POST", m, leakedRoute, w.Code, w.Header().Get("Allow"))
		}
	}
	// The door serves a method OpenAPI cannot name.
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, httptest.NewRequest("PROPFIND", forwardAuthRoute+"/a", nil))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("PROPFIND %s/a: %d, want the door's 401", forwardAuthRoute, w.Code)
	}
}

// JSON Schema tools read an enum as the whole list of admitted values: a nullable enum
// (an optional request member, read as absent when null) lists null, and an enum query
// parameter lists "" (the server reads ?status= as no filter).
func TestOpenAPIConformance_EnumsAdmitWhatTheServerReadsAsAbsent(t *testing.T) {
	doc := openAPIDocument()
	var walk func(where string, s *openapi3.Schema)
	walk = func(where string, s *openapi3.Schema) {
		if s.Nullable && len(s.Enum) > 0 && !slices.Contains(s.Enum, nil) {
			t.Errorf("%s: nullable enum without null", where)
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p.Value)
		}
		if s.Items != nil {
			walk(where+"[]", s.Items.Value)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(where+" body", mt.Schema.Value)
				}
			}
			for _, p := range op.Parameters {
				if v := p.Value.Schema.Value; p.Value.In == "query" && len(v.Enum) > 0 && !slices.Contains(v.Enum, any("")) {
					t.Errorf("%s ?%s=: enum without the empty value", where, p.Value.Name)
				}
			}
		}
	}
}
