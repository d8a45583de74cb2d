package provisioning_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/provisioning"
)

// The admin routes FuzzAdminRoutes picks; the lists take the fuzzed text as their
// query string instead of a body.
const (
	routeCreateACLGroup = iota
	routeCreateConsumer
	routeUpdateConsumer
	routeCreateClient
	routeUpdateClient
	routeTestClient
	routeListConsumers
	routeListClients
	routeAdminCount
)

type adminVerifier struct{}

func (adminVerifier) Verify(_ context.Context, raw string) (keycloak.Claims, error) {
	if raw != "carol-token" {
		return keycloak.Claims{}, keycloak.ErrInvalidToken
	}
	return keycloak.Claims{Subject: "carol-id", Username: "carol", AuthParty: "keyward-cli", RealmRoles: []string{"keyward-admin"}}, nil
}

type okPinger struct{}

func (okPinger) Ping(context.Context) error { return nil }

var fuzzAdmin = audit.Actor{ID: "carol-id", Name: "carol", Admin: true}

// FuzzAdminRoutes sends arbitrary bodies to every admin route that takes one (and
// arbitrary query strings to the consumer and client lists) through the real gin
// engine and provisioning service, on a SQLite store and the fake Keycloak. Whatever
// the input, the answer is never 5xx, and a refusal is problem+json with its status.
func FuzzAdminRoutes(f *testing.F) {
	for _, s := range []string{
		`{"name":"analytics","description":"read-only\nanalytics"}`, `{"name":"a"}`, `{"name":"."}`, `{"name":"-x"}`, `{"name":"A"}`,
		`{"name":"shop","environment":"staging","acl_groups":["a","b"]}`, `{"name":"shop","acl_groups":["a","a"]}`,
		`{"name":"shop","acl_groups":["nope"]}`, `{"name":"shop","environment":"prod"}`, `{"name":"base"}`,
		`{"name":null,"environment":"development","acl_groups":[]}`, `{"acl_groups":null}`, `{"description":"\u202e"}`,
		`{"client_id":"shop-web","name":"Shop web","redirect_uris":["https://shop.example/cb","http://127.0.0.1:8080/cb"]}`,
		`{"client_id":"ab"}`, `{"client_id":"base-client"}`, `{"redirect_uris":["http://shop.example/cb"]}`,
		`{"redirect_uris":["https://user@shop.example/cb"]}`, `{"redirect_uris":["https://*.example/cb"]}`, `{"redirect_uris":["https://x/#f"]}`,
		`{"enabled":false}`, `{"enabled":true,"name":"renamed"}`, `{"redirect_uris":null}`, `{"redirect_uris":[]}`,
		`{"secret":"wrong"}`, `{"secret":""}`, `{"secret":"` + strings.Repeat("s", 1025) + `"}`,
		``, `null`, `{}`, `{}}`, `[]`, `{"name":1}`, `{"x":1}`,
		`q=shop&sort=-name&limit=1`, `sort=created_at&cursor=e30`, `limit=0`, `limit=201`, `environment=staging&enabled=true`,
		`consumer=11111111-1111-4111-8111-111111111111`, `q=%00`, `q=%ff`, `cursor=%%`, `sort=name&sort=name`, `x=1`,
	} {
		for route := range routeAdminCount {
			f.Add(uint8(route), "application/json", s)
		}
	}
	f.Add(uint8(routeCreateConsumer), "text/plain", `{"name":"shop"}`)
	f.Add(uint8(routeCreateConsumer), "", `{"name":"shop"}`)

	gin.SetMode(gin.TestMode)
	svc := provisioning.NewFuzzService(f)
	engine := handlers.New(handlers.Config{
		Log: zap.NewNop(), Verifier: adminVerifier{}, Provisioning: svc,
		JWKS: jwk.NewSet(), Database: okPinger{}, Keycloak: okPinger{},
	})
	ctx := context.Background()
	for _, g := range []string{"a", "b"} {
		if _, err := svc.CreateACLGroup(ctx, fuzzAdmin, provisioning.ACLGroupInput{Name: g}); err != nil {
			f.Fatal(err)
		}
	}
	base, err := svc.CreateConsumer(ctx, fuzzAdmin, provisioning.ConsumerInput{Name: "base", ACLGroups: []string{"a"}})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateClient(ctx, fuzzAdmin, base.ID, provisioning.ClientInput{ClientID: "base-client"}); err != nil {
		f.Fatal(err)
	}
	var fixtures int

	f.Fuzz(func(t *testing.T, route uint8, contentType, input string) {
		var consumerID, clientID string
		if r := route % routeAdminCount; r >= routeUpdateConsumer && r <= routeTestClient {
			// A consumer and client of this input's own, so that inputs do not
			// depend on each other.
			fixtures++
			cons, err := svc.CreateConsumer(ctx, fuzzAdmin, provisioning.ConsumerInput{
				Name: fmt.Sprintf("fixture-%d", fixtures), ACLGroups: []string{"a"}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := svc.DeleteConsumer(ctx, fuzzAdmin, cons.ID, true); err != nil {
					t.Fatalf("delete fixture: %v", err)
				}
			}()
			cl, err := svc.CreateClient(ctx, fuzzAdmin, cons.ID, provisioning.ClientInput{ClientID: fmt.Sprintf("fixture-%d-client", fixtures)})
			if err != nil {
				t.Fatal(err)
			}
			consumerID, clientID = cons.ID, cl.ID
		}
		method, path, query, body := http.MethodPost, "", "", input
		switch route % routeAdminCount {
		case routeCreateACLGroup:
			path = "/v1/acl-groups"
		case routeCreateConsumer:
			path = "/v1/consumers"
		case routeUpdateConsumer:
			method, path = http.MethodPatch, "/v1/consumers/"+consumerID
		case routeCreateClient:
			path = "/v1/consumers/" + consumerID + "/clients"
		case routeUpdateClient:
			method, path = http.MethodPatch, "/v1/clients/"+clientID
		case routeTestClient:
			path = "/v1/clients/" + clientID + "/test"
		case routeListConsumers:
			method, path, query, body = http.MethodGet, "/v1/consumers", input, ""
		case routeListClients:
			method, path, query, body = http.MethodGet, "/v1/clients", input, ""
		}
		rec := serveAdmin(engine, method, path, query, contentType, body)
		checkAdminAnswer(t, method+" "+path, input, rec)
		if rec.Code != http.StatusCreated {
			return
		}
		var created struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
			t.Fatalf("%s %s %q: 201 %s", method, path, input, rec.Body.String())
		}
		var err error
		switch route % routeAdminCount { // leave the store as it was
		case routeCreateACLGroup:
			err = svc.DeleteACLGroup(ctx, fuzzAdmin, created.Name)
		case routeCreateConsumer:
			err = svc.DeleteConsumer(ctx, fuzzAdmin, created.ID, true)
		}
		if err != nil {
			t.Fatalf("undo %s %s %q: %v", method, path, input, err)
		}
	})
}

func serveAdmin(engine http.Handler, method, path, query, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.URL.RawQuery = query
	req.Header.Set("Authorization", "Bearer carol-token")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	engine.ServeHTTP(rec, req)
	return rec
}

// checkAdminAnswer: never 5xx; errors are problem+json stating their status.
func checkAdminAnswer(t *testing.T, route, input string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s with %q: %d %s", route, input, rec.Code, rec.Body.String())
	}
	if rec.Code < 400 {
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s with %q: %d with a body that is not JSON: %q", route, input, rec.Code, rec.Body.String())
		}
		return
	}
	var p struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s with %q: %d as %q, want application/problem+json", route, input, rec.Code, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Title == "" {
		t.Fatalf("%s with %q: %d with problem %s (%v)", route, input, rec.Code, rec.Body.String(), err)
	}
}
