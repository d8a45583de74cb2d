package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/keys"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

// The admin routes against a fake ProvisioningService: what the HTTP layer answers and
// what it passes on. The rules themselves are tested in provisioning; the whole stack
// on the real Keycloak in cmd/keyward.

// fakeProvisioning records each call and answers with err when set.
type fakeProvisioning struct {
	mu    sync.Mutex
	calls []string
	last  any // the input of the last call
	actor audit.Actor
	err   error
}

func (f *fakeProvisioning) called(name string, a audit.Actor, in any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	f.actor, f.last = a, in
	return f.err
}

var (
	fakeTime     = time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	fakeConsumer = provisioning.Consumer{ID: "11111111-1111-4111-8111-111111111111", Name: "shop", Environment: "production",
		ACLGroups: []string{"a"}, CreatedAt: fakeTime, UpdatedAt: fakeTime}
	fakeClient = provisioning.Client{ID: "22222222-2222-4222-8222-222222222222", ClientID: "shop-1", Name: "shop-1",
		ConsumerID: fakeConsumer.ID, ConsumerName: "shop", Environment: "production", ACLGroups: []string{"a"},
		Realm: "keyward", Protocol: "openid-connect", Enabled: true, CreatedAt: fakeTime, UpdatedAt: fakeTime}
)

const fakeSecret = "s3cr3t-value-from-keycloak"

func (f *fakeProvisioning) ListACLGroups(context.Context) ([]provisioning.ACLGroup, error) {
	return []provisioning.ACLGroup{{ID: "g1", Name: "a", Path: "/keyward-acl/a"}}, f.called("ListACLGroups", audit.Actor{}, nil)
}

func (f *fakeProvisioning) CreateACLGroup(_ context.Context, a audit.Actor, in provisioning.ACLGroupInput) (provisioning.ACLGroup, error) {
	return provisioning.ACLGroup{ID: "g1", Name: in.Name, Path: "/keyward-acl/" + in.Name}, f.called("CreateACLGroup", a, in)
}

func (f *fakeProvisioning) DeleteACLGroup(_ context.Context, a audit.Actor, name string) error {
	return f.called("DeleteACLGroup", a, name)
}

func (f *fakeProvisioning) CreateConsumer(_ context.Context, a audit.Actor, in provisioning.ConsumerInput) (provisioning.Consumer, error) {
	return fakeConsumer, f.called("CreateConsumer", a, in)
}

func (f *fakeProvisioning) ListConsumers(_ context.Context, q provisioning.ConsumerQuery) (provisioning.ConsumerPage, error) {
	return provisioning.ConsumerPage{Items: []provisioning.Consumer{fakeConsumer}}, f.called("ListConsumers", audit.Actor{}, q)
}

func (f *fakeProvisioning) Consumer(_ context.Context, id string) (provisioning.Consumer, error) {
	return fakeConsumer, f.called("Consumer", audit.Actor{}, id)
}

func (f *fakeProvisioning) UpdateConsumer(_ context.Context, a audit.Actor, id string, p provisioning.ConsumerPatch) (provisioning.Consumer, error) {
	return fakeConsumer, f.called("UpdateConsumer", a, p)
}

func (f *fakeProvisioning) DeleteConsumer(_ context.Context, a audit.Actor, id string, cascade bool) error {
	return f.called("DeleteConsumer", a, cascade)
}

func (f *fakeProvisioning) CreateClient(_ context.Context, a audit.Actor, consumerID string, in provisioning.ClientInput) (provisioning.CreatedClient, error) {
	return provisioning.CreatedClient{Client: fakeClient, Secret: fakeSecret}, f.called("CreateClient", a, in)
}

func (f *fakeProvisioning) ListClients(_ context.Context, q provisioning.ClientQuery) (provisioning.ClientPage, error) {
	return provisioning.ClientPage{Items: []provisioning.Client{fakeClient}, NextCursor: "next-page"}, f.called("ListClients", audit.Actor{}, q)
}

func (f *fakeProvisioning) Client(_ context.Context, id string) (provisioning.Client, error) {
	return fakeClient, f.called("Client", audit.Actor{}, id)
}

func (f *fakeProvisioning) UpdateClient(_ context.Context, a audit.Actor, id string, p provisioning.ClientPatch) (provisioning.Client, error) {
	return fakeClient, f.called("UpdateClient", a, p)
}

func (f *fakeProvisioning) DeleteClient(_ context.Context, a audit.Actor, id string) error {
	return f.called("DeleteClient", a, id)
}

func (f *fakeProvisioning) ClientSecret(_ context.Context, a audit.Actor, id string) (provisioning.Secret, error) {
	return provisioning.Secret{ClientID: "shop-1", Value: fakeSecret}, f.called("ClientSecret", a, id)
}

func (f *fakeProvisioning) RegenerateClientSecret(_ context.Context, a audit.Actor, id string) (provisioning.Secret, error) {
	return provisioning.Secret{ClientID: "shop-1", Value: fakeSecret + "-new"}, f.called("RegenerateClientSecret", a, id)
}

func (f *fakeProvisioning) TestClient(_ context.Context, a audit.Actor, id, secret string) (provisioning.TokenTest, error) {
	return provisioning.TokenTest{Valid: true, ExpiresIn: 300, ACLClaimPresent: true, ACLGroups: []string{"a"},
		Header: map[string]any{"alg": "RS256"}, Payload: map[string]any{"azp": "shop-1"}}, f.called("TestClient", a, secret)
}

// adminHarness is the harness with the admin routes served on a fake provisioning
// service.
type adminHarness struct {
	*harness
	fake *fakeProvisioning
}

func newAdminHarness(t *testing.T) *adminHarness {
	t.Helper()
	fake := &fakeProvisioning{}
	return &adminHarness{harness: newHarness(t, withProvisioning(fake)), fake: fake}
}

const (
	consumerPath = "/v1/consumers/11111111-1111-4111-8111-111111111111"
	clientPath   = "/v1/clients/22222222-2222-4222-8222-222222222222"
)

// adminRouteTable is every admin route with a valid body.
var adminRouteTable = []struct{ method, path, body string }{
	{"GET", "/v1/acl-groups", ""},
	{"POST", "/v1/acl-groups", `{"name":"a"}`},
	{"DELETE", "/v1/acl-groups/a", ""},
	{"POST", "/v1/consumers", `{"name":"shop"}`},
	{"GET", "/v1/consumers", ""},
	{"GET", consumerPath, ""},
	{"PATCH", consumerPath, `{"description":"x"}`},
	{"DELETE", consumerPath, ""},
	{"POST", consumerPath + "/clients", `{}`},
	{"GET", "/v1/clients", ""},
	{"GET", clientPath, ""},
	{"PATCH", clientPath, `{"enabled":false}`},
	{"DELETE", clientPath, ""},
	{"GET", clientPath + "/secret", ""},
	{"POST", clientPath + "/secret", ""},
	{"POST", clientPath + "/test", `{"secret":"x"}`},
}

// bodyRoutes take a JSON body; each gets the same table of bad bodies.
var bodyRoutes = []struct{ method, path, wrongType string }{
	{"POST", "/v1/acl-groups", `{"name":["a"]}`},
	{"POST", "/v1/consumers", `{"acl_groups":"a"}`},
	{"PATCH", consumerPath, `{"acl_groups":{"a":1}}`},
	{"POST", consumerPath + "/clients", `{"redirect_uris":"https://a.example"}`},
	{"PATCH", clientPath, `{"enabled":"false"}`},
	{"POST", clientPath + "/test", `{"secret":7}`},
}

// --- 2xx ---

func TestAdminRoutes_Admin_2xx_ActorPassed(t *testing.T) {
	h := newAdminHarness(t)
	want := map[string]int{"POST /v1/acl-groups": 201, "POST /v1/consumers": 201, "POST " + consumerPath + "/clients": 201,
		"DELETE /v1/acl-groups/a": 204, "DELETE " + consumerPath: 204, "DELETE " + clientPath: 204}
	for _, r := range adminRouteTable {
		rec := h.do(r.method, r.path, "admin-token", "application/json", r.body)
		status, ok := want[r.method+" "+r.path]
		if !ok {
			status = 200
		}
		if rec.Code != status {
			t.Errorf("%s %s: %d, want %d: %s", r.method, r.path, rec.Code, status, rec.Body.String())
		}
		if rec.Code != 204 && rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", r.method, r.path, rec.Header().Get("Cache-Control"))
		}
	}
	if len(h.fake.calls) != len(adminRouteTable) {
		t.Fatalf("calls %v", h.fake.calls)
	}
	if h.fake.actor.Name != "carol" || h.fake.actor.ID != "carol-id" || !h.fake.actor.Admin || h.fake.actor.RequestID == "" {
		t.Fatalf("actor %+v", h.fake.actor)
	}
}

func TestAdminRoutes_QueryAndBodyReachTheService(t *testing.T) {
	h := newAdminHarness(t)
	h.do("GET", "/v1/clients?consumer=c1&environment=staging&enabled=false&q=%27%3B%20drop&sort=-client_id&limit=5&cursor=abc",
		"admin-token", "", "")
	q := h.fake.last.(provisioning.ClientQuery)
	if q.ConsumerID != "c1" || q.Environment != "staging" || q.Enabled == nil || *q.Enabled || q.Q != "'; drop" ||
		q.Sort != "-client_id" || q.Limit != 5 || q.Cursor != "abc" {
		t.Fatalf("client query %+v", q)
	}
	h.do("DELETE", consumerPath+"?cascade=true", "admin-token", "", "")
	if h.fake.last != true {
		t.Fatal("cascade=true did not reach the service")
	}
	h.do("PATCH", consumerPath, "admin-token", "application/json", `{"acl_groups":[],"name":null}`)
	p := h.fake.last.(provisioning.ConsumerPatch)
	if p.ACLGroups == nil || len(*p.ACLGroups) != 0 || p.Name != nil || p.Description != nil {
		t.Fatalf("patch %+v: [] must clear the groups, null must leave the name", p)
	}
	h.do("POST", consumerPath+"/clients", "admin-token", "application/json",
		`{"client_id":"x","name":"<b>n</b>","redirect_uris":["https://a.example/cb"]}`)
	in := h.fake.last.(provisioning.ClientInput)
	if in.ClientID != "x" || in.Name != "<b>n</b>" || len(in.RedirectURIs) != 1 {
		t.Fatalf("client input %+v", in)
	}
}

func TestAdminRoutes_Answers_Shape(t *testing.T) {
	h := newAdminHarness(t)
	rec := h.do("POST", consumerPath+"/clients", "admin-token", "application/json", `{}`)
	created := decode(t, rec)
	if rec.Code != 201 || created["secret"] != fakeSecret || created["client_id"] != "shop-1" ||
		rec.Header().Get("Location") != clientPath || created["protocol"] != "openid-connect" || created["realm"] != "keyward" {
		t.Fatalf("create client: %d %v", rec.Code, created)
	}
	if c, _ := created["consumer"].(map[string]any); c["id"] != fakeConsumer.ID || c["name"] != "shop" {
		t.Fatalf("consumer reference %v", created["consumer"])
	}
	for _, path := range []string{clientPath, "/v1/clients"} {
		rec := h.do("GET", path, "admin-token", "", "")
		if strings.Contains(rec.Body.String(), fakeSecret) || strings.Contains(rec.Body.String(), `"secret"`) {
			t.Fatalf("GET %s shows a secret", path)
		}
	}
	list := decode(t, h.do("GET", "/v1/clients", "admin-token", "", ""))
	if items, _ := list["items"].([]any); len(items) != 1 || list["next_cursor"] != "next-page" {
		t.Fatalf("list %v", list)
	}
	consumers := decode(t, h.do("GET", "/v1/consumers", "admin-token", "", ""))
	if _, present := consumers["next_cursor"]; !present || consumers["next_cursor"] != nil {
		t.Fatalf("last page must have next_cursor null: %v", consumers)
	}
	item := consumers["items"].([]any)[0].(map[string]any)
	if item["created_at"] != "2030-01-02T02:04:05Z" {
		t.Fatalf("created_at %v, want RFC 3339 UTC", item["created_at"])
	}
	secret := decode(t, h.do("GET", clientPath+"/secret", "admin-token", "", ""))
	if secret["secret"] != fakeSecret || secret["client_id"] != "shop-1" {
		t.Fatalf("secret %v", secret)
	}
	test := decode(t, h.do("POST", clientPath+"/test", "admin-token", "application/json", `{"secret":"tried-secret"}`))
	if test["valid"] != true || test["acl_claim_present"] != true || strings.Contains(fmt.Sprint(test), "tried-secret") {
		t.Fatalf("test %v", test)
	}
}

// --- 400 ---

func TestAdminRoutes_BadBodies_4xx_NoCall(t *testing.T) {
	cases := []badBody{
		{"empty body", "application/json", "", 400, "body"},
		{"malformed", "application/json", `{"name":`, 400, "malformed"},
		{"not JSON", "application/json", "name=x", 400, "malformed"},
		{"array", "application/json", `[{"name":"a"}]`, 400, "object"},
		{"string", "application/json", `"a"`, 400, "object"},
		{"two objects", "application/json", `{}{}`, 400, "one JSON object"},
		{"unknown field", "application/json", `{"admin":true}`, 400, "admin"},
		{"invalid UTF-8", "application/json", "{\"description\":\"\xff\"}", 400, "UTF-8"},
		{"oversized", "application/json", `{"description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "64 KiB"},
		{"form content type", "application/x-www-form-urlencoded", `{}`, 415, "application/json"},
	}
	for _, r := range bodyRoutes {
		cases := append(cases, badBody{"wrong type", "application/json", r.wrongType, 400, "must be of type"})
		for _, tc := range cases {
			t.Run(r.method+" "+r.path+"/"+tc.name, func(t *testing.T) {
				h := newAdminHarness(t)
				rec := h.do(r.method, r.path, "admin-token", tc.contentType, tc.body)
				if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%d %s, want %d: %s", rec.Code, rec.Header().Get("Content-Type"), tc.status, rec.Body.String())
				}
				if !strings.Contains(rec.Body.String(), tc.mentions) {
					t.Fatalf("problem does not mention %q: %s", tc.mentions, rec.Body.String())
				}
				if len(h.fake.calls) != 0 {
					t.Fatalf("the service was called: %v", h.fake.calls)
				}
			})
		}
	}
}

func TestAdminRoutes_BadQueries_400_NoCall(t *testing.T) {
	for _, path := range []string{
		"/v1/consumers?enviroment=staging",
		"/v1/consumers?limit=ten",
		"/v1/consumers?q=a&q=b",
		"/v1/consumers?%zz",
		"/v1/clients?enabled=maybe",
		"/v1/clients?limit=1.5",
		"/v1/clients?owner=x",
		"/v1/acl-groups?q=x",
	} {
		h := newAdminHarness(t)
		rec := h.do("GET", path, "admin-token", "", "")
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		if len(h.fake.calls) != 0 {
			t.Errorf("GET %s called the service", path)
		}
	}
	h := newAdminHarness(t)
	if rec := h.do("DELETE", consumerPath+"?cascade=yes", "admin-token", "", ""); rec.Code != 400 || len(h.fake.calls) != 0 {
		t.Fatalf("cascade=yes: %d", rec.Code)
	}
}

// --- 401 / 403 ---

func TestAdminRoutes_NonAdmin_403_NoCall(t *testing.T) {
	h := newAdminHarness(t)
	for _, r := range adminRouteTable {
		rec := h.do(r.method, r.path, "user-token", "application/json", r.body)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s as alice: %d %s", r.method, r.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if rec := h.do(r.method, r.path, "", "application/json", r.body); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d", r.method, r.path, rec.Code)
		}
	}
	if len(h.fake.calls) != 0 {
		t.Fatalf("the service was called for non-admins: %v", h.fake.calls)
	}
}

// --- 503 ---

func TestAdminRoutes_NoProvisioningConfigured_503(t *testing.T) {
	gin.SetMode(gin.TestMode)
	e := New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{}, Keycloak: pinger{},
		Verifier: fakeVerifier{"admin-token": {Subject: "c", RealmRoles: []string{"keyward-admin"}}}})
	req := httptest.NewRequest("GET", "/v1/consumers", nil)
	req.Header.Set("Authorization", "Bearer admin-token")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%d", rec.Code)
	}
}

// The service refused to show a secret whose view it could not audit; the fake still
// hands the secret back beside the error, and the handler must not show it.
func TestAdminRoutes_SecretAuditUnavailable_503_NoSecret(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			h := newAdminHarness(t)
			h.fake.err = fmt.Errorf("client.secret.view: %w: %w", provisioning.ErrAuditUnavailable, errors.New("disk full"))
			rec := h.do(method, clientPath+"/secret", "admin-token", "", "")
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" ||
				rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%d %s Retry-After=%q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"), rec.Body.String())
			}
			body := rec.Body.String()
			if strings.Contains(body, fakeSecret) || strings.Contains(body, `"secret"`) || strings.Contains(body, "disk full") {
				t.Fatalf("the answer shows the secret or the internal error: %s", body)
			}
			if p := decode(t, rec); p["status"] != float64(503) || !strings.Contains(p["detail"].(string), "audit") {
				t.Fatalf("problem %v", p)
			}
		})
	}
}

// --- 400, 403, 404, 409, 500, 503: every service error, mapped once ---

func TestAdminRoutes_ServiceErrors_MappedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		detail string
	}{
		{"validation", &errs.Validation{Fields: []errs.FieldError{{Field: "name", Message: "is required"}}}, 400, "invalid fields"},
		{"conflict", errs.Because(provisioning.ErrConflict, "the ACL group \"a\" is used by 1 consumer(s)"), 409, "used by 1 consumer"},
		{"not found", fmt.Errorf("consumer: %w", models.ErrNotFound), 404, "no such resource"},
		{"keycloak down", fmt.Errorf("create client: %w", keycloak.ErrUnavailable), 503, "Keycloak cannot be reached"},
		{"internal", errors.New("pq: relation oauth_clients does not exist"), 500, "quote request id"},
		// Sentinels that used to fall through to 500.
		{"stale", fmt.Errorf("update consumer: %w", models.ErrStale), 409, "changed concurrently"},
		{"invalid filter", fmt.Errorf("list: %w", models.ErrInvalidFilter), 400, "filter"},
		{"keycloak not found", fmt.Errorf("get client: %w", keycloak.ErrNotFound), 404, "no such object in Keycloak"},
		{"keycloak conflict", fmt.Errorf("create group: %w", keycloak.ErrConflict), 409, "exists in Keycloak"},
		{"has clients", fmt.Errorf("delete: %w", models.ErrHasClients), 409, "still has clients"},
		{"key ceiling", errs.Because(keys.ErrLimit, "alice holds 50 live keys"), 409, "alice holds 50 live keys"},
		{"forbidden", fmt.Errorf("keys: %w", errs.Because(keys.ErrForbidden, "only admins do this")), 403, "only admins do this"},
		{"audit down", fmt.Errorf("view secret: %w", provisioning.ErrAuditUnavailable), 503, "audit trail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newAdminHarness(t)
			h.fake.err = tc.err
			rec := h.do("POST", "/v1/consumers", "admin-token", "application/json", `{"name":"x"}`)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.detail) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "pq:") {
				t.Fatal("an internal error text reached the caller")
			}
			if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
}
