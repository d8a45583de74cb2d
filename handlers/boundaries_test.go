package handlers

// The trust boundaries of the management API (DESIGN.md "Trust boundaries"), tried as
// an attacker would, grouped by the answer. The same boundaries are tried on the real
// Keycloak in cmd/keyward/boundaries_e2e_test.go.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/keys"
)

func detailOf(t *testing.T, body map[string]any) string {
	t.Helper()
	d, _ := body["detail"].(string)
	if errs, ok := body["errors"].([]any); ok {
		b, _ := json.Marshal(errs)
		d += " " + string(b)
	}
	return d
}

func mustMention(t *testing.T, body map[string]any, words ...string) {
	t.Helper()
	d := detailOf(t, body)
	for _, w := range words {
		if !strings.Contains(d, w) {
			t.Fatalf("answer %q does not name %q", d, w)
		}
	}
}

// --- 400: bad input, nothing written -------------------------------------------------

func TestBoundaries_400_ServiceAccountNeverOwnsAKey(t *testing.T) {
	h := newHarness(t)
	for _, owner := range []string{"service-account-ci", "sa-ci-id"} {
		body := h.mustStatus(t, 400, "POST", "/v1/keys", "carol-token", `{"name":"ci","owner":"`+owner+`"}`)
		mustMention(t, body, "owner", "service account")
	}
	if n := len(h.keys(t)); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

func TestBoundaries_400_InvisibleAndReorderingCharactersInNames(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"invoice\u202Egpj", "ad\u200Bmin", "a\u2066b", "tab\there"} {
		b, _ := json.Marshal(map[string]string{"name": name})
		body := h.mustStatus(t, 400, "POST", "/v1/keys", "alice-token", string(b))
		mustMention(t, body, "name")
	}
	b, _ := json.Marshal(map[string]string{"name": "ok", "description": "fine\nbut \u202Enot this"})
	mustMention(t, h.mustStatus(t, 400, "POST", "/v1/keys", "alice-token", string(b)), "description", "bidirectional")
	if n := len(h.keys(t)); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

func TestBoundaries_400_OwnerRateAboveCeiling_AdminMayPass(t *testing.T) {
	h := newHarness(t) // owner ceiling: 10000 per minute
	for _, rl := range []string{`{"requests":10001,"window_seconds":60}`, `{"requests":200,"window_seconds":1}`,
		`{"requests":20000,"window_seconds":3600}`, `{"unlimited":true}`} {
		body := h.mustStatus(t, 400, "POST", "/v1/keys", "alice-token", `{"name":"fast","rate_limit":`+rl+`}`)
		mustMention(t, body, "rate_limit", "10000 requests per 60 seconds")
	}
	h.createKey(t, "alice-token", `{"name":"at-ceiling","rate_limit":{"requests":10000,"window_seconds":60}}`)
	h.createKey(t, "alice-token", `{"name":"slower","rate_limit":{"requests":5000,"window_seconds":3600}}`)
	got := h.createKey(t, "carol-token", `{"name":"fast","owner":"alice","rate_limit":{"requests":50000,"window_seconds":60}}`)
	if got["admin_set"].(map[string]any)["rate_limit"] != "carol" {
		t.Fatalf("admin_set %v", got["admin_set"])
	}
}

// --- 401 / 403: who may call at all --------------------------------------------------

func TestBoundaries_403_ServiceAccountTokens(t *testing.T) {
	h := newHarness(t)
	for _, tok := range []string{"cc-token", "sa-token"} {
		for _, route := range []struct{ method, path, body string }{
			{"POST", "/v1/keys", `{"name":"x"}`}, {"GET", "/v1/keys", ""}, {"GET", "/v1/audit", ""},
		} {
			body := h.mustStatus(t, 403, route.method, route.path, tok, route.body)
			mustMention(t, body, "service-account")
		}
	}
	if n := len(h.keys(t)); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

// A token minted for an API key — unrestricted or limited to some of its owner's roles —
// never manages keys: else a limited key could make its owner an unrestricted one.
func TestBoundaries_401_KeyTokens(t *testing.T) {
	h := newHarness(t)
	for _, tok := range []string{"exchange-token", "limited-token"} {
		for _, route := range []struct{ method, path, body string }{
			{"POST", "/v1/keys", `{"name":"x"}`}, {"GET", "/v1/keys", ""}, {"GET", "/v1/audit", ""},
		} {
			body := h.mustStatus(t, 401, route.method, route.path, tok, route.body)
			mustMention(t, body, "obtained with an API key")
		}
	}
	if n := len(h.keys(t)); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

func TestBoundaries_403_NoUpwardImpersonation(t *testing.T) {
	h := newHarness(t)
	body := h.mustStatus(t, 403, "POST", "/v1/keys", "carol-token", `{"name":"escalate","owner":"root"}`)
	mustMention(t, body, "root", "realm-management:manage-users", "denylist")
	// Another admin is upward too: Keyward's admin role is on the list.
	body = h.mustStatus(t, 403, "POST", "/v1/keys", "carol-token", `{"name":"x","owner":"dave"}`)
	mustMention(t, body, "dave", "keyward-admin")
	// Her own key is not on anyone's behalf: the exchange's own check guards it.
	h.createKey(t, "carol-token", `{"name":"x","owner":"carol-id"}`)
	// root's own key: an admin may not rotate it for them either, nor is anything written.
	own := h.createKey(t, "root-token", `{"name":"mine"}`)
	before := len(h.keys(t))
	body = h.mustStatus(t, 403, "POST", "/v1/keys/"+own["id"].(string)+"/rotate", "carol-token", `{}`)
	mustMention(t, body, "rotate")
	if after := len(h.keys(t)); after != before {
		t.Fatalf("keys %d → %d after a refused rotation", before, after)
	}
	// The rule is the admin's: root rotates their own key.
	h.mustStatus(t, 201, "POST", "/v1/keys/"+own["id"].(string)+"/rotate", "root-token", `{}`)
}

func TestBoundaries_403_AdminDecisionsStick(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"ci"}`)
	path := "/v1/keys/" + key["id"].(string)

	// Disabled by an admin: the owner cannot enable it; the admin can.
	h.mustStatus(t, 200, "PATCH", path, "carol-token", `{"enabled":false}`)
	body := h.mustStatus(t, 403, "PATCH", path, "alice-token", `{"enabled":true}`)
	mustMention(t, body, "disabled by the admin carol")
	if h.exchangeStatus(key["key"].(string)) != http.StatusUnauthorized {
		t.Fatal("the disabled key exchanged")
	}
	// Rotating does not shed the decision.
	rotated := h.mustStatus(t, 201, "POST", path+"/rotate", "alice-token", `{"grace_period_hours":0}`)
	h.mustStatus(t, 403, "PATCH", "/v1/keys/"+rotated["id"].(string), "alice-token", `{"enabled":true}`)
	path = "/v1/keys/" + rotated["id"].(string)
	h.mustStatus(t, 200, "PATCH", path, "carol-token", `{"enabled":true}`)
	if got := h.mustStatus(t, 200, "GET", path, "alice-token", ""); got["admin_set"] != nil {
		t.Fatalf("admin_set after the admin enabled it: %v", got["admin_set"])
	}
	// The owner's own disable is theirs to undo.
	h.mustStatus(t, 200, "PATCH", path, "alice-token", `{"enabled":false}`)
	h.mustStatus(t, 200, "PATCH", path, "alice-token", `{"enabled":true}`)

	// A limit set by an admin: lower yes, higher or removed no.
	h.mustStatus(t, 200, "PATCH", path, "carol-token", `{"rate_limit":{"requests":100,"window_seconds":60}}`)
	for _, widen := range []string{`{"requests":101,"window_seconds":60}`, `{"requests":100,"window_seconds":30}`, `{"requests":1000,"window_seconds":600}`} {
		body = h.mustStatus(t, 403, "PATCH", path, "alice-token", `{"rate_limit":`+widen+`}`)
		mustMention(t, body, "rate limit was set by the admin carol")
	}
	h.mustStatus(t, 200, "PATCH", path, "alice-token", `{"rate_limit":{"requests":50,"window_seconds":60}}`)

	// An allowlist set by an admin: narrower yes, wider, other or none no.
	h.mustStatus(t, 200, "PATCH", path, "carol-token", `{"ip_allowlist":["10.0.0.0/8"]}`)
	for _, widen := range []string{`[]`, `["0.0.0.0/0"]`, `["10.0.0.0/8","192.0.2.1"]`, `["11.0.0.0/8"]`, `["::/0"]`} {
		body = h.mustStatus(t, 403, "PATCH", path, "alice-token", `{"ip_allowlist":`+widen+`}`)
		mustMention(t, body, "allowlist was set by the admin carol")
	}
	h.mustStatus(t, 200, "PATCH", path, "alice-token", `{"ip_allowlist":["10.1.0.0/16","10.2.3.4"]}`)
	got := h.mustStatus(t, 200, "GET", path, "alice-token", "")
	if got["ip_allowlist"].([]any)[0] != "10.1.0.0/16" {
		t.Fatalf("allowlist %v", got["ip_allowlist"])
	}
	// The owner may still revoke the key.
	h.mustStatus(t, 204, "DELETE", path, "alice-token", "")
}

// --- 409: ceilings ------------------------------------------------------------------

func TestBoundaries_409_LiveKeysPerUser(t *testing.T) {
	h := newHarness(t, withKeys(func(c *keys.Config) { c.MaxKeysPerUser = 3 }))
	var ids []string
	for _, n := range []string{"a", "b", "c"} {
		ids = append(ids, h.createKey(t, "alice-token", `{"name":"`+n+`"}`)["id"].(string))
	}
	body := h.mustStatus(t, 409, "POST", "/v1/keys", "alice-token", `{"name":"d"}`)
	mustMention(t, body, "alice", "3 live keys", "KEYWARD_MAX_KEYS_PER_USER")
	// An admin creating for her is bound too.
	h.mustStatus(t, 409, "POST", "/v1/keys", "carol-token", `{"name":"d","owner":"alice"}`)
	// Other users have their own budget; a rotation replaces, it does not add.
	h.createKey(t, "bob-token", `{"name":"a"}`)
	h.mustStatus(t, 201, "POST", "/v1/keys/"+ids[0]+"/rotate", "alice-token", `{}`)
	h.mustStatus(t, 204, "DELETE", "/v1/keys/"+ids[1], "alice-token", "")
	h.createKey(t, "alice-token", `{"name":"d"}`)
}

// --- 200: acts on behalf are audited as such -----------------------------------------

func TestBoundaries_200_OwnerSeesWhatAnAdminDidForThem(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "carol-token", `{"name":"for-alice","owner":"alice"}`)
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+key["id"].(string), "carol-token", `{"enabled":false}`)
	list := h.mustStatus(t, 200, "GET", "/v1/audit", "alice-token", "")
	items := list["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("alice sees %d events, want 2: %v", len(items), items)
	}
	for _, it := range items {
		ev := it.(map[string]any)
		if ev["on_behalf_of"] != "alice-id" || ev["actor_name"] != "carol" {
			t.Fatalf("event %v", ev)
		}
	}
	own := h.createKey(t, "alice-token", `{"name":"mine"}`)
	list = h.mustStatus(t, 200, "GET", "/v1/audit?target_id="+own["id"].(string), "alice-token", "")
	if ev := list["items"].([]any)[0].(map[string]any); ev["on_behalf_of"] != nil {
		t.Fatalf("her own act is not on anyone's behalf: %v", ev)
	}
}

// --- the token endpoint --------------------------------------------------------------

func TestBoundaries_400_TokenScopeBounded(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"ci","scopes":["email","profile"]}`)["key"].(string)
	for _, scope := range []string{strings.Repeat("email ", api.ScopesMax+1), strings.Repeat("x", 65), "email <x>", strings.Repeat("a", 5000)} {
		rec := h.do("POST", "/v1/token", "", "application/x-www-form-urlencoded", "scope="+scope, "X-API-Key", key)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_scope") {
			t.Fatalf("scope %.30q: %d %s", scope, rec.Code, rec.Body.String())
		}
	}
	rec := h.do("POST", "/v1/token", "", "application/x-www-form-urlencoded", "scope=profile+email+email", "X-API-Key", key)
	if rec.Code != 200 || decode(t, rec)["scope"] != "email profile" {
		t.Fatalf("normalised scope: %d %s", rec.Code, rec.Body.String())
	}
}

// Found by fuzzing: an IPv4-mapped prefix was stored as written and never matched.
func TestBoundaries_200_IPv4MappedAllowlistMeansIPv4(t *testing.T) {
	h := newHarness(t)
	key := h.createKey(t, "alice-token", `{"name":"mapped","ip_allowlist":["::ffff:10.0.0.0/104"]}`)
	if got := key["ip_allowlist"].([]any); len(got) != 1 || got[0] != "10.0.0.0/8" {
		t.Fatalf("stored %v, want 10.0.0.0/8", got)
	}
	if rec := h.exchangeFrom(key["key"].(string), "10.1.2.3:5000"); rec.Code != http.StatusOK {
		t.Fatalf("from inside the range: %d", rec.Code)
	}
	if rec := h.exchangeFrom(key["key"].(string), "192.0.2.1:5000"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("from outside: %d", rec.Code)
	}
}

// Found by fuzzing: lists ignored a malformed query string, and cursors carried text
// PostgreSQL refuses (NUL) into the query.
func TestBoundaries_400_MalformedQueriesAndForeignCursors(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/v1/keys?cursor=%%", "/v1/audit?limit=%zz", "/v1/keys?limit=1&limit=2",
		"/v1/audit?cursor=" + encodeAuditCursor(h.clock.Now(), "x\x00"),
		"/v1/audit?cursor=" + encodeAuditCursor(h.clock.Now(), "11111111-1111-4111-8111-111111111111\x00")} {
		h.mustStatus(t, 400, "GET", path, "alice-token", "")
	}
	h.mustStatus(t, 200, "GET", "/v1/audit?cursor="+encodeAuditCursor(h.clock.Now(), "11111111-1111-4111-8111-111111111111"), "alice-token", "")
}
