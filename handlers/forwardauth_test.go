package handlers

import (
	"context"
	"encoding/base64"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/testkit"
)

// The door's answers by outcome: 200 with the token in Authorization and no body; one
// 401 for a missing key and for every refused one, with the challenges; 429 and 503
// with Retry-After. The exchange pipeline behind it is /v1/token's (exchange tests).

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// forward sends one request to the door as a gateway would, from peer.
func (h *harness) forward(method, target, peer string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if peer != "" {
		req.RemoteAddr = peer
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	return rec
}

// credentialForms are the ways a client may present key.
func credentialForms(key string) map[string][]string {
	return map[string][]string{
		"X-API-Key":                     {"X-API-Key", key},
		"ApiKey":                        {"Authorization", "ApiKey " + key},
		"apikey, lower case":            {"Authorization", "apikey " + key},
		"Bearer key":                    {"Authorization", "Bearer " + key},
		"Basic, key as password":        {"Authorization", basicAuth("analyst@example.com", key)},
		"Basic, key as user name":       {"Authorization", basicAuth(key, "")},
		"X-API-Key beside a Bearer JWT": {"Authorization", "Bearer " + testkit.IssuedToken("bob-id", "bob", nil, nil), "X-API-Key", key},
	}
}

func wantGranted(t *testing.T, name string, rec *httptest.ResponseRecorder, owner string) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", name, rec.Code, rec.Body.String())
	}
	if got, want := rec.Header().Get("Authorization"), "Bearer "+testkit.IssuedToken(owner, owner, nil, nil); got != want {
		t.Fatalf("%s: Authorization %q, want the owner's token", name, got)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Body.Len() != 0 {
		t.Fatalf("%s: Cache-Control %q, body %q", name, rec.Header().Get("Cache-Control"), rec.Body.String())
	}
	if rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("%s: a challenge on a 200", name)
	}
}

// --- 200 ---

func TestForwardAuth_200_EachCredentialForm_EveryMethodAndPath(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"door"}`)["key"].(string)
	for name, hdrs := range credentialForms(key) {
		for _, m := range append(slices.Clone(forwardAuthMethods), "PROPFIND", "MKCOL") {
			for _, target := range []string{"/v1/forward-auth", "/v1/forward-auth/", "/v1/forward-auth/api/v2/report.csv"} {
				rec := h.forward(m, target, "", hdrs...)
				wantGranted(t, name+" "+m+" "+target, rec, "alice-id")
			}
		}
	}
}

// A gateway may pass on the Content-Length of an upload it keeps: the door never
// reads a body, so a large one is no reason to refuse.
func TestForwardAuth_200_LargeDeclaredBodyIgnored(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"door"}`)["key"].(string)
	req := httptest.NewRequest("PUT", "/v1/forward-auth/upload", strings.NewReader(strings.Repeat("x", MaxBodyBytes+1)))
	req.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	wantGranted(t, "upload", rec, "alice-id")
}

// --- 401 ---

// Every refusal is one answer: a caller learns nothing about why (no key, an unknown
// key, a revoked one, a disabled one, a refused address) from status, headers or body.
func TestForwardAuth_401_MissingAndRefusedKeys_OneAnswer(t *testing.T) {
	h := newHarness(t, strict())
	live := h.createKey(t, "alice-token", `{"name":"live"}`)["key"].(string)
	revoked := h.createKey(t, "alice-token", `{"name":"revoked"}`)
	disabled := h.createKey(t, "alice-token", `{"name":"disabled"}`)
	office := h.createKey(t, "alice-token", `{"name":"office","ip_allowlist":["203.0.113.0/24"]}`)["key"].(string)
	h.mustStatus(t, 204, "DELETE", "/v1/keys/"+revoked["id"].(string), "alice-token", "")
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+disabled["id"].(string), "alice-token", `{"enabled":false}`)
	forged, err := exchange.GenerateKey(exchange.EnvTest)
	if err != nil {
		t.Fatal(err)
	}
	// A live key with its last secret character changed: right shape and lookup id.
	wrongSecret := live[:len(live)-8] + string(live[len(live)-8]^1) + live[len(live)-7:]
	q := url.Values{"api_key": {live}, "key": {live}, "X-API-Key": {live}}.Encode()
	cases := map[string]struct {
		target string
		hdrs   []string
	}{
		"no key":                     {"/v1/forward-auth", nil},
		"key in the query only":      {"/v1/forward-auth/data.csv?" + q, nil},
		"key in the path only":       {"/v1/forward-auth/" + live, nil},
		"forged key":                 {"/v1/forward-auth", []string{"X-API-Key", forged.String()}},
		"wrong secret":               {"/v1/forward-auth", []string{"X-API-Key", wrongSecret}},
		"malformed key":              {"/v1/forward-auth", []string{"Authorization", "ApiKey kw_live_nonsense"}},
		"Bearer JWT, no key":         {"/v1/forward-auth", []string{"Authorization", "Bearer " + testkit.IssuedToken("alice-id", "alice", nil, nil)}},
		"Basic, both empty":          {"/v1/forward-auth", []string{"Authorization", basicAuth("", "")}},
		"Basic, key as user and pwd": {"/v1/forward-auth", []string{"Authorization", basicAuth(live, "x")}},
		"Basic, bad base64":          {"/v1/forward-auth", []string{"Authorization", "Basic %%%"}},
		"revoked key":                {"/v1/forward-auth", []string{"X-API-Key", revoked["key"].(string)}},
		"disabled key":               {"/v1/forward-auth", []string{"Authorization", basicAuth("me", disabled["key"].(string))}},
		"address outside allowlist":  {"/v1/forward-auth", []string{"X-API-Key", office}},
	}
	var first *httptest.ResponseRecorder
	var firstName string
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		c := cases[name]
		rec := h.forward("GET", c.target, "198.51.100.20:4000", c.hdrs...)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
		if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, forwardAuthChallenges) {
			t.Fatalf("%s: challenges %q", name, got)
		}
		if rec.Header().Get("Authorization") != "" || strings.Contains(rec.Body.String(), "kw_") {
			t.Fatalf("%s: the answer carries a token or a key", name)
		}
		if first == nil {
			first, firstName = rec, name
			continue
		}
		if rec.Body.String() != first.Body.String() {
			t.Errorf("%s answers %q, %s answers %q", name, rec.Body.String(), firstName, first.Body.String())
		}
		a, b := rec.Header().Clone(), first.Header().Clone()
		a.Del("X-Request-ID")
		b.Del("X-Request-ID")
		if !maps.EqualFunc(a, b, slices.Equal[[]string]) {
			t.Errorf("%s answers headers %v, %s answers %v", name, a, firstName, b)
		}
	}
	// The live key still works: none of the refusals above touched it.
	wantGranted(t, "live", h.forward("GET", "/v1/forward-auth", "198.51.100.20:4000", "X-API-Key", live), "alice-id")
}

// A revoked key is refused at the door at once: no cache outlives a revocation.
func TestForwardAuth_401_RevokedAtOnce(t *testing.T) {
	h := newHarness(t)
	k := h.createKey(t, "alice-token", `{"name":"door"}`)
	key := k["key"].(string)
	wantGranted(t, "before", h.forward("GET", "/v1/forward-auth", "", "X-API-Key", key), "alice-id")
	h.mustStatus(t, 204, "DELETE", "/v1/keys/"+k["id"].(string), "alice-token", "")
	if rec := h.forward("GET", "/v1/forward-auth", "", "X-API-Key", key); rec.Code != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d", rec.Code)
	}
}

// The allowlist judges the client's address: X-Forwarded-For counts only when the peer
// is a trusted proxy (strict trusts 10.0.0.1), and then its right-most untrusted entry.
func TestForwardAuth_IPAllowlist_XForwardedForOfTrustedProxiesOnly(t *testing.T) {
	h := newHarness(t, strict())
	key := h.createKey(t, "alice-token", `{"name":"office","ip_allowlist":["203.0.113.0/24"]}`)["key"].(string)
	for _, c := range []struct {
		name, peer, xff string
		want            int
	}{
		{"trusted proxy, client inside", "10.0.0.1:5000", "203.0.113.9", 200},
		{"trusted proxy, client outside", "10.0.0.1:5000", "198.51.100.7", 401},
		{"trusted proxy, client forged an inside entry before its own", "10.0.0.1:5000", "203.0.113.9, 198.51.100.7", 401},
		{"untrusted peer claims an inside address", "198.51.100.7:5000", "203.0.113.9", 401},
		{"untrusted peer inside, claims an outside address", "203.0.113.50:5000", "198.51.100.7", 200},
		{"the trusted proxy itself, no header", "10.0.0.1:5000", "", 401},
	} {
		var hdrs []string
		if c.xff != "" {
			hdrs = []string{"X-Forwarded-For", c.xff}
		}
		rec := h.forward("GET", "/v1/forward-auth/x", c.peer, append(hdrs, "X-API-Key", key)...)
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d", c.name, rec.Code, c.want)
		}
	}
}

// --- 429 ---

func TestForwardAuth_429_RateLimitWithRetryAfter(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"limited","rate_limit":{"requests":2,"window_seconds":60}}`)["key"].(string)
	for i := 0; i < 2; i++ {
		wantGranted(t, "within the limit", h.forward("GET", "/v1/forward-auth", "", "X-API-Key", key), "alice-id")
	}
	rec := h.forward("POST", "/v1/forward-auth/x", "", "Authorization", basicAuth("", key))
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 || rec.Header().Get("Authorization") != "" {
		t.Fatalf("over the limit: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := decode(t, rec); body["error"] != "rate_limited" {
		t.Fatalf("body %v", body)
	}
	h.clock.Advance(time.Duration(secs) * time.Second)
	wantGranted(t, "after Retry-After", h.forward("GET", "/v1/forward-auth", "", "X-API-Key", key), "alice-id")
}

// stubExchanger answers every exchange with one result and keeps the requests.
type stubExchanger struct {
	res  exchange.Result
	seen []exchange.Request
}

func (s *stubExchanger) Exchange(_ context.Context, req exchange.Request) exchange.Result {
	s.seen = append(s.seen, req)
	return s.res
}

func stubEngine(res exchange.Result) (*gin.Engine, *stubExchanger) {
	gin.SetMode(gin.TestMode)
	x := &stubExchanger{res: res}
	return New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{}, Keycloak: pinger{}, Exchanger: x}), x
}

func TestForwardAuth_429_FailureThrottle(t *testing.T) {
	e, x := stubEngine(exchange.Result{Outcome: exchange.OutcomeThrottled, RetryAfter: 1500 * time.Millisecond})
	h := &harness{engine: e}
	rec := h.forward("GET", "/v1/forward-auth", "", "X-API-Key", "kw_test_x")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("throttled: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if len(x.seen) != 1 || x.seen[0].Via != exchange.ViaForwardAuth || x.seen[0].Scope != "" {
		t.Fatalf("the exchange saw %+v", x.seen)
	}
}

// --- 503 ---

func TestForwardAuth_503_KeycloakDownWithRetryAfter(t *testing.T) {
	e, _ := stubEngine(exchange.Result{Outcome: exchange.OutcomeUnavailable, KeyID: "k"})
	h := &harness{engine: e}
	rec := h.forward("GET", "/v1/forward-auth/x", "", "Authorization", basicAuth("", "kw_test_x"))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" || rec.Header().Get("Authorization") != "" {
		t.Fatalf("Keycloak down: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := decode(t, rec); body["error"] != "temporarily_unavailable" {
		t.Fatalf("body %v", body)
	}
}

// The route label: the token endpoint and the door tell the exchange where the key
// came from, for metrics and logs.
func TestForwardAuth_TellsTheExchangeItsRoute(t *testing.T) {
	e, x := stubEngine(exchange.Result{Outcome: exchange.OutcomeUnknownKey})
	h := &harness{engine: e}
	h.forward("GET", "/v1/forward-auth", "", "X-API-Key", "kw_test_x")
	h.do("POST", "/v1/token", "", "", "", "X-API-Key", "kw_test_x")
	if len(x.seen) != 2 || x.seen[0].Via != exchange.ViaForwardAuth || x.seen[1].Via != exchange.ViaToken {
		t.Fatalf("the exchange saw %+v", x.seen)
	}
}

// --- conformance ---

func (cf *conformance) forwardAuthRoutes(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"door"}`)["key"].(string)
	down, _ := stubEngine(exchange.Result{Outcome: exchange.OutcomeUnavailable})
	for _, path := range []struct{ doc, url string }{
		{forwardAuthRoute, forwardAuthRoute},
		{forwardAuthRoute + "/{path}", forwardAuthRoute + "/reports/2025/q1.csv"},
	} {
		for _, m := range forwardAuthMethods {
			c := call{method: m, docPath: path.doc, url: path.url}
			for _, form := range [][]string{{"X-API-Key", key}, {"Authorization", basicAuth("me", key)}} {
				c.status, c.headers = 200, form
				cf.do(t, h.engine, c)
			}
			c.status, c.headers = 401, nil
			cf.do(t, h.engine, c)
			c.headers = []string{"X-API-Key", "kw_live_nonsense"}
			cf.do(t, h.engine, c)
			c.status = 503
			cf.do(t, down, c)
		}
		limited := h.createKey(t, "alice-token", `{"name":"once `+path.doc+`","rate_limit":{"requests":1,"window_seconds":3600}}`)["key"].(string)
		c := call{method: "GET", docPath: path.doc, url: path.url, headers: []string{"X-API-Key", limited}}
		c.status = 200
		cf.do(t, h.engine, c)
		c.status = 429
		cf.do(t, h.engine, c)
	}
}
