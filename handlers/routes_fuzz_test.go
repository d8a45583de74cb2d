package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
)

// The routes FuzzKeyRoutes picks: those that take a JSON body, and the lists, which
// take the fuzzed text as their query string instead.
const (
	routeCreateKey = iota
	routeUpdateKey
	routeRotateKey
	routeListKeys
	routeListAudit
	routeKeyCount
)

var fuzzTokens = []string{"alice-token", "carol-token", "bob-token"}

// FuzzKeyRoutes sends arbitrary bodies to POST /v1/keys, PATCH /v1/keys/:id and POST
// /v1/keys/:id/rotate, and arbitrary query strings (cursors included) to GET /v1/keys
// and GET /v1/audit, on the real services and SQLite store, as the owner alice, the
// admin carol or another user bob. The key patched or rotated is alice's, either her
// own or one whose limit and allowlist the admin set. Whatever the input, the answer
// is never 5xx; a refusal is problem+json with its status; a new key parses.
func FuzzKeyRoutes(f *testing.F) {
	for _, s := range []string{
		`{"name":"ci"}`,
		`{"name":"ci","description":"build\nbot","environment":"development","expires_in_days":30,"scopes":["openid","read:x"],"metadata":{"team":"a"},"rate_limit":{"requests":10,"window_seconds":60},"ip_allowlist":["10.0.0.0/8","2001:db8::1"]}`,
		`{"name":"ci","owner":"bob"}`, `{"name":"ci","owner":"root"}`, `{"name":"ci","owner":"service-account-ci"}`, `{"name":"ci","owner":"nobody"}`,
		`{"name":"ci","never_expires":true,"rate_limit":{"unlimited":true}}`, `{"name":"ci","expires_at":"2999-01-01T00:00:00Z"}`,
		`{"name":"ci","expires_at":"2000-01-01T00:00:00+14:00"}`, `{"name":"ci","metadata":{"a":"\u0000"}}`, `{"name":"ci","metadata":[1]}`,
		`{"name":"ci","ip_allowlist":["::ffff:10.0.0.0/104"]}`, `{"name":"ci","ip_allowlist":[]}`, `{"name":"ci","scopes":[""]}`,
		`{"enabled":false}`, `{"enabled":true}`, `{"rate_limit":{"requests":1,"window_seconds":86400}}`, `{"rate_limit":null}`,
		`{"ip_allowlist":["10.1.0.0/16"]}`, `{"ip_allowlist":["0.0.0.0/0"]}`, `{"ip_allowlist":null}`, `{"scopes":[]}`,
		`{"expires_at":"2001-01-01T00:00:00Z"}`, `{"name":"\u202e"}`, `{"metadata":null}`, `{"metadata":{}}`,
		`{"grace_period_hours":0}`, `{"grace_period_hours":720}`, `{"grace_period_hours":-1}`, `{"grace_period_hours":1.5}`,
		``, `null`, `{}`, `{}}`, `[]`, `{"name":1}`, `{"x":1}`,
		`status=active&sort=name&order=asc&limit=1`, `cursor=azE6MQ`, `cursor=azE6LTE`, `limit=101`, `owner=bob`,
		`owner=nobody&q=%00`, `q=%ff`, `expires=30d&environment=staging`, `sort=name&sort=name`, `x=1`, `cursor=%%`,
		`key=11111111-1111-4111-8111-111111111111&since=2020-01-01T00:00:00Z&until=2999-01-01T00:00:00Z`,
		`cursor=` + encodeAuditCursor(time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), "11111111-1111-4111-8111-111111111111"), `target_type=key&target_id=%00`,
	} {
		for route := range routeKeyCount {
			f.Add(uint8(route), uint8(0), false, "application/json", s)
		}
	}
	f.Add(uint8(routeUpdateKey), uint8(0), true, "application/json", `{"ip_allowlist":["10.1.0.0/16"],"rate_limit":{"requests":50,"window_seconds":60}}`)
	f.Add(uint8(routeUpdateKey), uint8(0), true, "application/json", `{"enabled":true}`)
	f.Add(uint8(routeUpdateKey), uint8(1), true, "application/json", `{"ip_allowlist":[],"rate_limit":{"unlimited":true}}`)
	f.Add(uint8(routeRotateKey), uint8(2), false, "application/json", `{}`)
	f.Add(uint8(routeCreateKey), uint8(1), false, "text/plain", `{"name":"ci"}`)
	f.Add(uint8(routeCreateKey), uint8(0), false, "", `{"name":"ci"}`)

	h := newHarness(f) // one harness serves every input: building one per input would take most of the time
	f.Fuzz(func(t *testing.T, route, caller uint8, adminSet bool, contentType, body string) {
		token := fuzzTokens[int(caller)%len(fuzzTokens)]
		var method, path, query string
		switch route % routeKeyCount {
		case routeCreateKey:
			method, path = http.MethodPost, "/v1/keys"
		case routeListKeys, routeListAudit:
			method, path, query, body = http.MethodGet, "/v1/keys", body, ""
			if route%routeKeyCount == routeListAudit {
				path = "/v1/audit"
			}
		case routeUpdateKey, routeRotateKey:
			fixture := h.fuzzFixture(t, adminSet) // alice's key
			defer h.fuzzDelete(t, fixture)
			method, path = http.MethodPatch, "/v1/keys/"+fixture
			if route%routeKeyCount == routeRotateKey {
				method, path = http.MethodPost, "/v1/keys/"+fixture+"/rotate"
			}
		}
		rec := h.doRaw(method, path, query, token, contentType, body)
		checkAnswer(t, method+" "+path+"?"+query, body, rec)
		if rec.Code == http.StatusCreated {
			var created struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.ID == "" {
				t.Fatalf("%s %s %q: 201 without an id: %s", method, path, body, rec.Body.String())
			}
			h.fuzzDelete(t, created.ID)
			if _, err := exchange.ParseKey(created.Key); err != nil {
				t.Fatalf("%s %s %q: the new key does not parse: %v", method, path, body, err)
			}
		}
	})
}

// checkAnswer: never 5xx; errors are problem+json stating their status.
func checkAnswer(t *testing.T, route, body string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s with body %q: %d %s", route, body, rec.Code, rec.Body.String())
	}
	if rec.Code < 400 {
		if rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s with body %q: %d with a body that is not JSON: %q", route, body, rec.Code, rec.Body.String())
		}
		return
	}
	var p problem
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s with body %q: %d as %q, want application/problem+json", route, body, rec.Code, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Title == "" {
		t.Fatalf("%s with body %q: %d with problem %s (%v)", route, body, rec.Code, rec.Body.String(), err)
	}
}

// doRaw is do with a query string as sent, which may be malformed.
func (h *harness) doRaw(method, path, query, token, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.URL.RawQuery = query
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	return rec
}

// fuzzFixture creates a key of alice's: her own, or (adminSet) one the admin carol
// made for her with a rate limit and an allowlist that bind her.
func (h *harness) fuzzFixture(t *testing.T, adminSet bool) string {
	t.Helper()
	token, body := "alice-token", `{"name":"fuzz-fixture","scopes":["openid","profile"]}`
	if adminSet {
		token = "carol-token"
		body = `{"name":"fuzz-fixture","owner":"alice","rate_limit":{"requests":100,"window_seconds":60},"ip_allowlist":["10.0.0.0/8"]}`
	}
	rec := h.do(http.MethodPost, "/v1/keys", token, "application/json", body)
	var k struct {
		ID string `json:"id"`
	}
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &k) != nil {
		t.Fatalf("fixture: %d %s", rec.Code, rec.Body.String())
	}
	return k.ID
}

// fuzzDelete removes a key and, after a rotation, its successor, so that no owner
// reaches the live-key ceiling.
func (h *harness) fuzzDelete(t *testing.T, id string) {
	t.Helper()
	if k, err := h.store.KeyByID(context.Background(), "", id); err == nil && k.RotatedTo != nil {
		h.fuzzDelete(t, *k.RotatedTo)
	}
	if rec := h.do(http.MethodDelete, "/v1/keys/"+id, "carol-token", "", ""); rec.Code != http.StatusNoContent && rec.Code != http.StatusNotFound {
		t.Fatalf("delete %s: %d %s", id, rec.Code, rec.Body.String())
	}
}
