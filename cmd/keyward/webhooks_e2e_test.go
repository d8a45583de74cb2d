package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
)

// hookReceiver is a receiver on loopback that keeps every request.
type hookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []hookRequest
}

type hookRequest struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hookRequest{header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// await returns the first request whose payload is of type typ for object id,
// waiting for the dispatcher (it polls every second) up to a bound.
func (r *hookReceiver) await(t *testing.T, typ, id string) (hookRequest, map[string]any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := append([]hookRequest(nil), r.got...)
		r.mu.Unlock()
		for _, req := range got {
			var p map[string]any
			if json.Unmarshal(req.body, &p) == nil && p["type"] == typ {
				if data, _ := p["data"].(map[string]any); data["id"] == id {
					return req, p
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s webhook for %s arrived", typ, id)
	return hookRequest{}, nil
}

// Through the real Keycloak: an admin registers an endpoint, a user creates and
// revokes a key, and the receiver gets key.created and key.revoked, signed so that
// the Standard Webhooks reference library verifies them, holding no key material.
// Non-admins and service accounts cannot touch /v1/webhooks.
func TestWebhooks_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	for _, b := range []struct{ name, dsn string }{{"postgres", pgtest.DSN(t)}, {"sqlite", ""}} {
		t.Run(b.name, func(t *testing.T) {
			app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": b.dsn,
				"KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128"})
			testWebhookDelivery(t, app)
			testWebhookAccess(t, app)
		})
	}
}

func testWebhookDelivery(t *testing.T, app *running) {
	kc := app.kc
	carol, alice := kc.Login(t, "carol"), kc.Login(t, "alice")
	rcv := newHookReceiver(t)
	created := jsonPost(t, app.url+"/v1/webhooks", carol,
		`{"url":"`+rcv.URL+`/hook","event_types":["key.created","key.revoked","consumer.*"]}`)
	if created.status != http.StatusCreated {
		t.Fatalf("register: %d %s", created.status, created.raw)
	}
	secret, _ := created.body["secret"].(string)
	remember(secret)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}

	keyID, key := app.createKey(t, alice, "webhook-e2e")
	req, p := rcv.await(t, "key.created", keyID)
	if err := wh.Verify(req.body, req.header); err != nil {
		t.Fatalf("the reference library refuses the signature: %v", err)
	}
	data := p["data"].(map[string]any)
	if data["owner"] != kc.UserID(t, "alice") || data["name"] != "webhook-e2e" || !strings.HasPrefix(key, data["prefix"].(string)) {
		t.Fatalf("key.created data: %v", data)
	}
	secretPart := key[strings.LastIndex(key[:strings.LastIndex(key, "_")], "_")+1:]
	for _, bad := range []string{key, secretPart, alice, "secret_hash"} {
		if strings.Contains(string(req.body), bad) {
			t.Fatalf("the payload holds key material or a token: %s", req.body)
		}
	}

	if got := call(t, "DELETE", app.url+"/v1/keys/"+keyID, nil, "Authorization", "Bearer "+alice); got.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", got.status, got.raw)
	}
	revoked, _ := rcv.await(t, "key.revoked", keyID)
	if err := wh.Verify(revoked.body, revoked.header); err != nil {
		t.Fatalf("key.revoked signature: %v", err)
	}
	if revoked.header.Get("webhook-id") == req.header.Get("webhook-id") {
		t.Fatal("two messages share a webhook-id")
	}

	name := strings.ToLower(kctest.Unique("wh"))
	cons := jsonPost(t, app.url+"/v1/consumers", carol, `{"name":"`+name+`"}`)
	if cons.status != http.StatusCreated {
		t.Fatalf("consumer: %d %s", cons.status, cons.raw)
	}
	consReq, consP := rcv.await(t, "consumer.created", cons.body["id"].(string))
	if err := wh.Verify(consReq.body, consReq.header); err != nil || consP["data"].(map[string]any)["actor"].(map[string]any)["name"] != "carol" {
		t.Fatalf("consumer.created: %v %s", err, consReq.body)
	}

	id := created.body["id"].(string)
	log := call(t, "GET", app.url+"/v1/webhooks/"+id+"/deliveries", nil, "Authorization", "Bearer "+carol)
	items, _ := log.body["items"].([]any)
	if log.status != http.StatusOK || len(items) < 3 {
		t.Fatalf("delivery log: %d %s", log.status, log.raw)
	}
	for _, it := range items {
		d := it.(map[string]any)
		if attempts, _ := d["attempts"].([]any); d["state"] != "succeeded" || len(attempts) != 1 {
			t.Errorf("delivery %v", d)
		}
	}
}

func testWebhookAccess(t *testing.T, app *running) {
	kc := app.kc
	alice := kc.Login(t, "alice")
	clientID := kctest.Unique("kw-hook-robot")
	kc.TempClient(t, gocloak.Client{
		ClientID: gocloak.StringP(clientID), Enabled: gocloak.BoolP(true), PublicClient: gocloak.BoolP(false),
		ServiceAccountsEnabled: gocloak.BoolP(true), Secret: gocloak.StringP("robot-secret"),
		ProtocolMappers: &[]gocloak.ProtocolMapperRepresentation{kctest.AudienceMapper(kc.ClientID)},
	})
	robot := kc.ClientCredentials(t, clientID, "robot-secret")
	mgmt := kc.ClientCredentials(t, kc.AdminClientID, kc.AdminClientSecret)
	body := `{"url":"http://127.0.0.1:9/x","event_types":["*"]}`
	for who, token := range map[string]string{"alice": alice, "a service account": robot, "the management client": mgmt} {
		for _, r := range []struct{ method, path, body string }{{"POST", "/v1/webhooks", body}, {"GET", "/v1/webhooks", ""}} {
			got := call(t, r.method, app.url+r.path, strings.NewReader(r.body), "Authorization", "Bearer "+token, "Content-Type", "application/json")
			if got.status != http.StatusForbidden && got.status != http.StatusUnauthorized {
				t.Errorf("%s %s as %s: %d %s", r.method, r.path, who, got.status, got.raw)
			}
		}
	}
	// Audit export: a plain user is refused the stream, an admin gets it.
	window := "since=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + "&until=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if got := call(t, "GET", app.url+"/v1/audit?"+window, nil, "Authorization", "Bearer "+alice, "Accept", "application/x-ndjson"); got.status != http.StatusForbidden {
		t.Errorf("alice's export: %d", got.status)
	}
	got := call(t, "GET", app.url+"/v1/audit?"+window, nil, "Authorization", "Bearer "+kc.Login(t, "carol"), "Accept", "application/x-ndjson")
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/x-ndjson" || !strings.Contains(got.raw, `"action":"webhook.create"`) {
		t.Errorf("carol's export: %d %s", got.status, got.header.Get("Content-Type"))
	}
}
