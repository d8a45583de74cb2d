package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/webhooks"
)

// webhookHarness is the harness with the real webhook service, on a store of its own
// (with the outbox installed) so that tests can queue deliveries.
type webhookHarness struct {
	*harness
	hooks *models.Store
}

func newWebhookHarness(t *testing.T) *webhookHarness {
	t.Helper()
	store := openStore(t)
	store.UseOutbox(webhooks.Outbox)
	key, _ := webhooks.SecretKeyFrom([]byte(strings.Repeat("p", 32)))
	box, _ := webhooks.NewSecretBox(key)
	guard, _ := webhooks.NewGuard([]string{"127.0.0.0/8"})
	svc := webhooks.NewService(webhooks.ServiceConfig{Store: store, Box: box, Guard: guard,
		Audit: audit.NewRecorder(store, zap.NewNop(), nil)})
	h := newHarness(t, func(c *harnessConfig) { c.server.Webhooks = svc })
	return &webhookHarness{harness: h, hooks: store}
}

// queue records an audit event that webhooks announce, as the key service would.
func (h *webhookHarness) queue(t *testing.T) {
	t.Helper()
	if err := h.hooks.RecordAudit(context.Background(), &models.AuditEvent{ActorID: "alice-id", ActorName: "alice",
		Action: "key.create", TargetType: "key", TargetID: uuid.NewString(), OwnerID: "alice-id",
		Details: `{"name":"laptop","prefix":"kw_test_abcdefABCDEF"}`}); err != nil {
		t.Fatal(err)
	}
}

const hookBody = `{"url":"https://hooks.example/keyward?token=t","event_types":["key.*","client.created"],"description":"siem"}`

func (h *webhookHarness) createHook(t *testing.T) map[string]any {
	t.Helper()
	rec := h.do("POST", "/v1/webhooks", "admin-token", "application/json", hookBody)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", rec.Code, rec.Body.String())
	}
	return decode(t, rec)
}

// Only admins manage webhooks: a plain user, a service account (by client
// credentials or by its name) and an API key's token are refused on every route,
// and a call without a token is 401.
func TestWebhookRoutes_NonAdmins_Refused(t *testing.T) {
	h := newWebhookHarness(t)
	id := h.createHook(t)["id"].(string)
	d := "/v1/webhooks/" + id + "/deliveries/" + uuid.NewString() + "/redeliver"
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/webhooks", hookBody}, {"GET", "/v1/webhooks", ""}, {"GET", "/v1/webhooks/" + id, ""},
		{"PATCH", "/v1/webhooks/" + id, `{"enabled":false}`}, {"DELETE", "/v1/webhooks/" + id, ""},
		{"POST", "/v1/webhooks/" + id + "/secret", ""}, {"GET", "/v1/webhooks/" + id + "/deliveries", ""}, {"POST", d, ""},
	} {
		for token, want := range map[string]int{"user-token": 403, "alice-token": 403, "cc-token": 403, "sa-token": 403,
			"exchange-token": 401, "": 401, "forged": 401} {
			ct := ""
			if r.body != "" {
				ct = "application/json"
			}
			if rec := h.do(r.method, r.path, token, ct, r.body); rec.Code != want {
				t.Errorf("%s %s as %q: %d, want %d", r.method, r.path, token, rec.Code, want)
			}
		}
	}
	rec := h.do("GET", "/v1/webhooks", "admin-token", "", "")
	if items := decode(t, rec)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["enabled"] != true {
		t.Fatalf("refused callers changed the endpoints: %s", rec.Body.String())
	}
}

// Bad input: 400 naming the field, and nothing written.
func TestWebhookRoutes_BadInput_400NamingField_NothingWritten(t *testing.T) {
	h := newWebhookHarness(t)
	for body, field := range map[string]string{
		`{"event_types":["*"]}`: "url",
		`{"url":"http://169.254.169.254/latest/meta-data","event_types":["*"]}`:    "url",
		`{"url":"http://[::ffff:10.0.0.1]/","event_types":["*"]}`:                  "url",
		`{"url":"gopher://x.example/","event_types":["*"]}`:                        "url",
		`{"url":"https://x.example/","event_types":[]}`:                            "event_types",
		`{"url":"https://x.example/","event_types":["key.stolen"]}`:                "event_types[0]",
		`{"url":"https://x.example/","event_types":["*"],"description":"a\u0000"}`: "description",
	} {
		rec := h.do("POST", "/v1/webhooks", "admin-token", "application/json", body)
		if rec.Code != 400 || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body.String())
			continue
		}
		errs, _ := decode(t, rec)["errors"].([]any)
		if len(errs) == 0 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("%s: errors %v, want field %s", body, errs, field)
		}
	}
	for _, body := range []string{`{"url":"https://x.example/","event_types":["*"],"secret":"mine"}`, `[]`, `{"url":1}`} {
		if rec := h.do("POST", "/v1/webhooks", "admin-token", "application/json", body); rec.Code != 400 {
			t.Errorf("%s: %d", body, rec.Code)
		}
	}
	if items := decode(t, h.do("GET", "/v1/webhooks", "admin-token", "", ""))["items"].([]any); len(items) != 0 {
		t.Fatalf("bad input wrote %d endpoints", len(items))
	}
	id := h.createHook(t)["id"].(string)
	for body, field := range map[string]string{`{}`: "body", `{"url":"http://127.0.0.1.example:99999/"}`: "url", `{"event_types":["key.*","key.*"]}`: "event_types[1]"} {
		rec := h.do("PATCH", "/v1/webhooks/"+id, "admin-token", "application/json", body)
		errs, _ := decode(t, rec)["errors"].([]any)
		if rec.Code != 400 || len(errs) == 0 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("PATCH %s: %d %s, want 400 naming %s", body, rec.Code, rec.Body.String(), field)
		}
	}
	if got := decode(t, h.do("GET", "/v1/webhooks/"+id, "admin-token", "", "")); got["url"] != "https://hooks.example/keyward?token=t" {
		t.Fatalf("a refused patch changed the endpoint: %v", got)
	}
	if rec := h.do("GET", "/v1/webhooks/not-a-uuid", "admin-token", "", ""); rec.Code != 404 {
		t.Fatalf("bad id: %d", rec.Code)
	}
}

// The signing secret is in the answer that makes it and in no other.
func TestWebhookRoutes_SecretShownOnce(t *testing.T) {
	h := newWebhookHarness(t)
	created := h.createHook(t)
	secret, _ := created["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	id := created["id"].(string)
	h.queue(t)
	rotated := decode(t, h.do("POST", "/v1/webhooks/"+id+"/secret", "admin-token", "", ""))
	for _, path := range []string{"/v1/webhooks", "/v1/webhooks/" + id, "/v1/webhooks/" + id + "/deliveries"} {
		body := h.do("GET", path, "admin-token", "", "").Body.String()
		if strings.Contains(body, `"secret"`) || strings.Contains(body, "whsec_") || strings.Contains(body, strings.TrimPrefix(secret, "whsec_")) {
			t.Errorf("%s shows the secret: %s", path, body)
		}
	}
	if rotated["secret"] == secret || !strings.HasPrefix(rotated["secret"].(string), "whsec_") {
		t.Fatalf("rotation: %v", rotated)
	}
}

// The audit trail as newline-delimited JSON: admins only, a required range of at
// most 31 days, the list's filters, every event once across store pages.
func TestAuditExport_NDJSON(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	base := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 2*500 + 7 // three of the pages audit.Reader reads at a time
	for i := 0; i < n; i++ {
		typ := "key"
		if i%3 == 0 {
			typ = "consumer"
		}
		if err := h.store.RecordAudit(ctx, &models.AuditEvent{At: base.Add(time.Duration(i) * time.Second), ActorID: "carol-id",
			Action: typ + ".create", TargetType: typ, TargetID: fmt.Sprint(i), OwnerID: "alice-id"}); err != nil {
			t.Fatal(err)
		}
	}
	outside := &models.AuditEvent{At: base.Add(-time.Hour), ActorID: "x", Action: "key.create", TargetType: "key", TargetID: "old"}
	if err := h.store.RecordAudit(ctx, outside); err != nil {
		t.Fatal(err)
	}
	export := func(token, query string) (int, []map[string]any, string) {
		rec := h.do("GET", "/v1/audit?"+query, token, "", "", "Accept", "application/x-ndjson")
		var lines []map[string]any
		sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
		for sc.Scan() && rec.Code == 200 {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("line %q is not JSON", sc.Text())
			}
			lines = append(lines, m)
		}
		return rec.Code, lines, rec.Header().Get("Content-Type")
	}
	window := "since=2030-03-01T00:00:00Z&until=2030-03-02T00:00:00Z"
	code, lines, ct := export("carol-token", window)
	if code != 200 || ct != "application/x-ndjson" || len(lines) != n {
		t.Fatalf("export: %d %s, %d lines, want %d", code, ct, len(lines), n)
	}
	seen := map[string]bool{}
	for i, l := range lines {
		id := l["id"].(string)
		if seen[id] || l["target_id"] == "old" {
			t.Fatalf("line %d: %v repeated or outside the range", i, l)
		}
		seen[id] = true
		if i > 0 && l["at"].(string) > lines[i-1]["at"].(string) {
			t.Fatalf("line %d is newer than the one before", i)
		}
	}
	if _, lines, _ := export("carol-token", window+"&target_type=consumer"); len(lines) != (n+2)/3 {
		t.Fatalf("filtered export: %d lines, want %d", len(lines), (n+2)/3)
	}
	for q, field := range map[string]string{
		"until=2030-03-02T00:00:00Z":                            "since",
		"since=2030-03-01T00:00:00Z":                            "until",
		"since=2030-01-01T00:00:00Z&until=2030-03-02T00:00:00Z": "until",
		"since=2030-03-02T00:00:00Z&until=2030-03-01T00:00:00Z": "until",
		"since=yesterday&until=2030-03-02T00:00:00Z":            "since",
	} {
		rec := h.do("GET", "/v1/audit?"+q, "carol-token", "", "", "Accept", "application/x-ndjson")
		errs, _ := decode(t, rec)["errors"].([]any)
		if rec.Code != 400 || len(errs) == 0 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %s, want 400 naming %s", q, rec.Code, rec.Body.String(), field)
		}
	}
	if rec := h.do("GET", "/v1/audit?"+window+"&limit=5", "carol-token", "", "", "Accept", "application/x-ndjson"); rec.Code != 400 {
		t.Errorf("an export with a page size: %d", rec.Code)
	}
	for token, want := range map[string]int{"alice-token": 403, "cc-token": 403, "": 401} {
		if code, _, _ := export(token, window); code != want {
			t.Errorf("export as %q: %d, want %d", token, code, want)
		}
	}
	// Without the Accept header, the same query is the JSON list, as before.
	if rec := h.do("GET", "/v1/audit?"+window, "carol-token", "", ""); rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("JSON list: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// ndjsonDecoder lets the document's checker read a stream: the lines as an array.
func ndjsonDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	var out []any
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// webhookRoutes drives every webhook route through the document, and the audit
// export.
func (cf *conformance) webhookRoutes(t *testing.T) {
	h := newWebhookHarness(t)
	e := h.engine
	const js = "application/json"
	rec := cf.do(t, e, call{method: "POST", docPath: "/v1/webhooks", url: "/v1/webhooks", token: "admin-token", contentType: js,
		body: `{"url":"https://hooks.example/k","event_types":["*"],"enabled":false,"description":null}`, status: 201, req: reqValid})
	id := decode(t, rec)["id"].(string)
	byID := "/v1/webhooks/" + id
	for _, c := range []call{
		{method: "POST", docPath: "/v1/webhooks", url: "/v1/webhooks", body: hookBody, status: 201},
		{method: "POST", docPath: "/v1/webhooks", url: "/v1/webhooks", body: `{"url":"https://x.example/","event_types":["nope"]}`, status: 400, req: reqInvalid},
		{method: "POST", docPath: "/v1/webhooks", url: "/v1/webhooks", body: `{"url":"http://10.0.0.1/","event_types":["*"]}`, status: 400, req: reqAny},
		{method: "POST", docPath: "/v1/webhooks", url: "/v1/webhooks", body: hookBody, token: "user-token", status: 403},
		{method: "POST", docPath: "/v1/webhooks", url: "/v1/webhooks", body: hookBody, token: "-", status: 401},
		{method: "GET", docPath: "/v1/webhooks", url: "/v1/webhooks?limit=1", status: 200},
		{method: "GET", docPath: "/v1/webhooks", url: "/v1/webhooks?limit=0", status: 400, req: reqInvalid},
		{method: "GET", docPath: "/v1/webhooks", url: "/v1/webhooks", token: "-", status: 401},
		{method: "GET", docPath: "/v1/webhooks/{id}", url: byID, status: 200},
		{method: "GET", docPath: "/v1/webhooks/{id}", url: "/v1/webhooks/" + uuid.NewString(), status: 404},
		{method: "GET", docPath: "/v1/webhooks/{id}", url: byID, token: "-", status: 401},
		{method: "PATCH", docPath: "/v1/webhooks/{id}", url: byID, body: `{"enabled":true,"event_types":["key.created"]}`, status: 200},
		{method: "PATCH", docPath: "/v1/webhooks/{id}", url: byID, body: `{}`, status: 400, req: reqInvalid},
		{method: "PATCH", docPath: "/v1/webhooks/{id}", url: byID, body: `{"enabled":true}`, token: "-", status: 401},
		{method: "POST", docPath: "/v1/webhooks/{id}/secret", url: byID + "/secret", status: 200},
		{method: "POST", docPath: "/v1/webhooks/{id}/secret", url: byID + "/secret", body: `{"previous_valid_hours":24}`, status: 200},
		{method: "POST", docPath: "/v1/webhooks/{id}/secret", url: byID + "/secret", body: `{"previous_valid_hours":169}`, status: 400, req: reqInvalid},
		{method: "POST", docPath: "/v1/webhooks/{id}/secret", url: byID + "/secret", token: "-", status: 401},
	} {
		if c.token == "" {
			c.token = "admin-token"
		} else if c.token == "-" {
			c.token = ""
		}
		if c.body != "" {
			c.contentType = js
		}
		cf.do(t, e, c)
	}
	h.queue(t)
	rec = cf.do(t, e, call{method: "GET", docPath: "/v1/webhooks/{id}/deliveries", url: byID + "/deliveries?limit=5", token: "admin-token", status: 200})
	items := decode(t, rec)["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("deliveries: %s", rec.Body.String())
	}
	redeliver := byID + "/deliveries/" + items[0].(map[string]any)["id"].(string) + "/redeliver"
	const rd = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"
	for _, c := range []call{
		{method: "GET", docPath: "/v1/webhooks/{id}/deliveries", url: byID + "/deliveries?cursor=bogus", token: "admin-token", status: 400, req: reqAny},
		{method: "GET", docPath: "/v1/webhooks/{id}/deliveries", url: "/v1/webhooks/" + uuid.NewString() + "/deliveries", token: "admin-token", status: 404},
		{method: "GET", docPath: "/v1/webhooks/{id}/deliveries", url: byID + "/deliveries", status: 401},
		{method: "POST", docPath: rd, url: redeliver, token: "admin-token", status: 202},
		{method: "POST", docPath: rd, url: byID + "/deliveries/" + uuid.NewString() + "/redeliver", token: "admin-token", status: 404},
		{method: "POST", docPath: rd, url: redeliver, token: "user-token", status: 403},
		{method: "POST", docPath: rd, url: redeliver, status: 401},
	} {
		cf.do(t, e, c)
	}
	cf.do(t, e, call{method: "PATCH", docPath: "/v1/webhooks/{id}", url: byID, token: "admin-token", contentType: js, body: `{"enabled":false}`, status: 200})
	cf.do(t, e, call{method: "POST", docPath: rd, url: redeliver, token: "admin-token", status: 409})
	cf.do(t, e, call{method: "DELETE", docPath: "/v1/webhooks/{id}", url: byID, token: "admin-token", status: 204})
	cf.do(t, e, call{method: "DELETE", docPath: "/v1/webhooks/{id}", url: byID, token: "admin-token", status: 404})
	cf.do(t, e, call{method: "DELETE", docPath: "/v1/webhooks/{id}", url: byID, status: 401})
	// Not wired: 503.
	cf.do(t, newHarness(t).engine, call{method: "GET", docPath: "/v1/webhooks", url: "/v1/webhooks", token: "admin-token", status: 503})

	openapi3filter.RegisterBodyDecoder(ndjson, ndjsonDecoder)
	if err := h.store.RecordAudit(context.Background(), &models.AuditEvent{At: time.Date(2030, 1, 1, 1, 0, 0, 0, time.UTC),
		ActorID: "carol-id", Action: "consumer.create", TargetType: "consumer", TargetID: "c", OnBehalfOf: "alice-id"}); err != nil {
		t.Fatal(err)
	}
	cf.do(t, e, call{method: "GET", docPath: "/v1/audit", url: "/v1/audit?since=2030-01-01T00:00:00Z&until=2030-01-02T00:00:00Z",
		token: "admin-token", headers: []string{"Accept", ndjson}, status: 200})
	cf.do(t, e, call{method: "GET", docPath: "/v1/audit", url: "/v1/audit?since=2030-01-01T00:00:00Z&until=2030-01-02T00:00:00Z",
		token: "user-token", headers: []string{"Accept", ndjson}, status: 403})
}
