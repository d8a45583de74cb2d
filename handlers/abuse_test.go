package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/ratelimit"
)

func (h *harness) exchangeFrom(key, peer string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/v1/token", nil)
	req.RemoteAddr = peer
	req.Header.Set("X-API-Key", key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	return rec
}

func TestToken_429_RateLimitWithRetryAfter(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"limited","rate_limit":{"requests":3,"window_seconds":60}}`)
	if rl := key["rate_limit"].(map[string]any); rl["requests"] != float64(3) || rl["window_seconds"] != float64(60) {
		t.Fatalf("rate_limit shown as %v", rl)
	}
	for i := 0; i < 3; i++ {
		if code := h.exchangeStatus(key["key"].(string)); code != 200 {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	rec := h.do("POST", "/v1/token", "", "", "", "X-API-Key", key["key"].(string))
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 20 {
		t.Fatalf("4th request: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := decode(t, rec); body["error"] != "rate_limited" || body["error_description"] == "" {
		t.Fatalf("body %v", body)
	}
	h.clock.Advance(time.Duration(secs) * time.Second)
	if code := h.exchangeStatus(key["key"].(string)); code != 200 {
		t.Fatalf("after Retry-After: %d", code)
	}
	// Raising the limit takes effect on the next request.
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+key["id"].(string), "alice-token", `{"rate_limit":{"requests":100,"window_seconds":60}}`)
	if code := h.exchangeStatus(key["key"].(string)); code != 200 {
		t.Fatalf("after raising the limit: %d", code)
	}
}

func TestKeys_400_RateLimitAndAllowlistValidation(t *testing.T) {
	h := newHarness(t)
	h.createRefused(t, "alice-token", map[string]string{
		"zero requests":         `{"name":"x","rate_limit":{"requests":0,"window_seconds":60}}`,
		"negative window":       `{"name":"x","rate_limit":{"requests":5,"window_seconds":-1}}`,
		"window over a day":     `{"name":"x","rate_limit":{"requests":5,"window_seconds":86401}}`,
		"unlimited and numbers": `{"name":"x","rate_limit":{"unlimited":true,"requests":5}}`,
		"rate limit a string":   `{"name":"x","rate_limit":"5/min"}`,
		"unknown field":         `{"name":"x","rate_limit":{"requests":5,"window_seconds":60,"burst":9}}`,
		"bad CIDR":              `{"name":"x","ip_allowlist":["10.0.0.0/33"]}`,
		"hostname":              `{"name":"x","ip_allowlist":["example.com"]}`,
		"SQL as CIDR":           `{"name":"x","ip_allowlist":["' OR 1=1 --"]}`,
		"allowlist not array":   `{"name":"x","ip_allowlist":"10.0.0.0/8"}`,
	})
	if len(h.keys(t)) != 0 {
		t.Fatal("a key was stored for invalid input")
	}
	got := h.createKey(t, "alice-token", `{"name":"ok","ip_allowlist":["203.0.113.9","2001:db8::/32","10.1.2.3/8"]}`)
	if strings.Join(kctestStrings(got["ip_allowlist"]), " ") != "203.0.113.9/32 2001:db8::/32 10.0.0.0/8" {
		t.Fatalf("allowlist normalised to %v", got["ip_allowlist"])
	}
}

func kctestStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestKeys_Unlimited_OnlyWhenConfigured(t *testing.T) {
	// The harness allows unlimited keys; without an owner ceiling an owner may ask.
	noCeiling := withKeys(func(c *keys.Config) { c.OwnerMaxRate = ratelimit.Limit{} })
	h := newHarness(t, noCeiling)
	got := h.createKey(t, "alice-token", `{"name":"free","rate_limit":{"unlimited":true}}`)
	if got["rate_limit"].(map[string]any)["unlimited"] != true {
		t.Fatalf("rate_limit %v", got["rate_limit"])
	}
	// A strict server refuses, by its policy alone.
	careful := newHarness(t, strict(), noCeiling)
	rec := careful.do("POST", "/v1/keys", "alice-token", "application/json", `{"name":"free","rate_limit":{"unlimited":true}}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "not allowed") {
		t.Fatalf("unlimited on a strict server: %d %s", rec.Code, rec.Body.String())
	}
}

func TestToken_IPAllowlist_PeerAndProxies(t *testing.T) {
	h := newHarness(t, strict())
	key := h.createKey(t, "alice-token", `{"name":"office","ip_allowlist":["203.0.113.0/24","2001:db8::/32"]}`)["key"].(string)
	cases := []struct {
		name    string
		peer    string
		headers []string
		want    int
	}{
		{"peer inside", "203.0.113.5:5000", nil, 200},
		{"IPv6 peer inside", "[2001:db8::7]:5000", nil, 200},
		{"peer outside", "198.51.100.1:5000", nil, 401},
		{"spoofed XFF from an untrusted peer", "198.51.100.1:5000", []string{"X-Forwarded-For", "203.0.113.5"}, 401},
		{"trusted proxy, client inside", "10.0.0.1:443", []string{"X-Forwarded-For", "203.0.113.5"}, 200},
		{"trusted proxy, client outside", "10.0.0.1:443", []string{"X-Forwarded-For", "198.51.100.1"}, 401},
		{"trusted proxy, spoofed left-most entry", "10.0.0.1:443", []string{"X-Forwarded-For", "203.0.113.5, 198.51.100.1"}, 401},
		{"X-Real-IP is not believed", "10.0.0.1:443", []string{"X-Real-IP", "203.0.113.5"}, 401},
	}
	var denied []string
	for _, tc := range cases {
		rec := h.exchangeFrom(key, tc.peer, tc.headers...)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
		if tc.want == 401 {
			denied = append(denied, rec.Body.String())
		}
	}
	unknown := h.exchangeFrom("kw_live_nope", "203.0.113.5:5000").Body.String()
	for _, d := range denied {
		if d != unknown {
			t.Fatalf("an address denial can be told from a bad key: %q vs %q", d, unknown)
		}
	}
}

func TestKeyUsage_CountsByDayAndReason(t *testing.T) {
	h := newHarness(t, strict())
	got := h.createKey(t, "alice-token", `{"name":"counted","ip_allowlist":["203.0.113.0/24"]}`)
	key, id := got["key"].(string), got["id"].(string)
	h.exchangeFrom(key, "203.0.113.5:1")
	h.clock.Advance(time.Second)
	h.exchangeFrom(key, "203.0.113.6:1")
	h.exchangeFrom(key, "198.51.100.1:1")
	if err := h.usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	u := h.mustStatus(t, 200, "GET", "/v1/keys/"+id+"/usage?days=7", "alice-token", "")
	month := u["month"].(map[string]any)
	if month["success"] != float64(2) || month["denied"].(map[string]any)["ip_denied"] != float64(1) {
		t.Fatalf("month %v", month)
	}
	days := u["days"].([]any)
	if len(days) != 7 || days[6].(map[string]any)["date"] != h.clock.Now().Format(time.DateOnly) ||
		days[6].(map[string]any)["success"] != float64(2) || days[0].(map[string]any)["success"] != float64(0) {
		t.Fatalf("days %v", days)
	}
	if u["last_used_ip"] != "203.0.113.6" || u["last_used_at"] == nil {
		t.Fatalf("last use %v from %v", u["last_used_at"], u["last_used_ip"])
	}
	for _, q := range []string{"days=0", "days=91", "days=x", "from=1"} {
		if rec := h.do("GET", "/v1/keys/"+id+"/usage?"+q, "alice-token", "", ""); rec.Code != 400 {
			t.Errorf("%s: %d", q, rec.Code)
		}
	}
}

func TestKeyUsage_SplitByRoute_TotalsStayTheSum(t *testing.T) {
	h := newHarness(t, strict())
	got := h.createKey(t, "alice-token", `{"name":"door and token"}`)
	key, id := got["key"].(string), got["id"].(string)
	for range 2 {
		if rec := h.exchangeFrom(key, "192.0.2.1:1"); rec.Code != 200 {
			t.Fatalf("token: %d", rec.Code)
		}
	}
	for range 3 {
		if rec := h.do("GET", "/v1/forward-auth/reports", "", "", "", "X-API-Key", key); rec.Code != 200 {
			t.Fatalf("forward-auth: %d", rec.Code)
		}
	}
	if rec := h.do("GET", "/v1/forward-auth", "", "", "", "X-API-Key", key+"x"); rec.Code != 401 {
		t.Fatalf("forward-auth with a wrong key: %d", rec.Code) // no key id: counted nowhere
	}
	if err := h.usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	u := h.mustStatus(t, 200, "GET", "/v1/keys/"+id+"/usage?days=2", "alice-token", "")
	days := u["days"].([]any)
	for name, totals := range map[string]any{"month": u["month"], "period": u["period"], "today": days[1]} {
		tot := totals.(map[string]any)
		byVia := tot["by_via"].(map[string]any)
		tok, door := byVia["token"].(map[string]any), byVia["forward_auth"].(map[string]any)
		if tot["success"] != float64(5) || tok["success"] != float64(2) || door["success"] != float64(3) || len(byVia) != 2 {
			t.Errorf("%s: %v", name, tot)
		}
		if len(tot["denied"].(map[string]any)) != 0 || len(tok["denied"].(map[string]any)) != 0 || len(door["denied"].(map[string]any)) != 0 {
			t.Errorf("%s: denials %v", name, tot)
		}
	}
	// A day without use still names every route, with zeros.
	quiet := days[0].(map[string]any)["by_via"].(map[string]any)
	for _, via := range []string{"token", "forward_auth"} {
		if c, ok := quiet[via].(map[string]any); !ok || c["success"] != float64(0) {
			t.Errorf("quiet day, %s: %v", via, quiet)
		}
	}
}

func TestMetrics_ServedWhenConfigured(t *testing.T) {
	gin.SetMode(gin.TestMode)
	e := New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{}, Keycloak: pinger{},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("keyward_up 1\n")) })})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "keyward_up 1") {
		t.Fatalf("/metrics: %d %q", rec.Code, rec.Body.String())
	}
}
