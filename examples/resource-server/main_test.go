package main

// The whole story on the real stack of `make test`: a user's API key → the Go client's
// TokenSource (Keyward trades the key at Keycloak) → this API, which trusts Keycloak
// alone.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/middleware"
)

// startAPI serves newAPI for the realm under test.
func startAPI(t *testing.T, env *kctest.Env) string {
	t.Helper()
	v, err := middleware.NewVerifier(middleware.Config{Issuer: env.Issuer(), Audience: "demo-api"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newAPI(v))
	t.Cleanup(srv.Close)
	return srv.URL
}

// keyFor creates an API key for user at the shared Keyward, revoked at cleanup.
func keyFor(t *testing.T, env *kctest.Env, user string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name":"resource-server example %s %d"}`, user, time.Now().UnixNano())
	req, _ := http.NewRequest(http.MethodPost, env.KeywardURL+"/v1/keys", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env.Login(t, user))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Key, ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create key for %s: HTTP %d %v", user, resp.StatusCode, err)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, env.KeywardURL+"/v1/keys/"+out.ID, nil)
		req.Header.Set("Authorization", "Bearer "+env.Login(t, user))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return out.Key
}

// clientFor is what a user's program does: key in the environment → an *http.Client.
func clientFor(t *testing.T, env *kctest.Env, user string) *http.Client {
	t.Helper()
	t.Setenv(client.EnvURL, env.KeywardURL)
	t.Setenv(client.EnvAPIKey, keyFor(t, env, user))
	ts, err := client.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return ts.Client(context.Background())
}

func get(t *testing.T, hc *http.Client, url string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: HTTP %d, body not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestStory_AliceKey_BothRoutes200(t *testing.T) {
	env := kctest.Require(t)
	api := startAPI(t, env)
	hc := clientFor(t, env, "alice")

	status, _, body := get(t, hc, api+"/hello")
	if status != http.StatusOK || body["subject"] != env.UserID(t, "alice") || body["username"] != "alice" || body["client"] != "keyward" {
		t.Fatalf("/hello: %d %v", status, body)
	}
	status, _, body = get(t, hc, api+"/engineering/reports")
	if status != http.StatusOK || body["reader"] != "alice" {
		t.Fatalf("/engineering/reports: %d %v", status, body)
	}
	resp, err := hc.Get(api + "/engineering/reports.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	csvBody, _ := io.ReadAll(resp.Body)
	want := "report,reader\nbuild-times-2026-q1,alice\nincident-review-42,alice\n"
	if resp.StatusCode != http.StatusOK || string(csvBody) != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("/engineering/reports.csv: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), csvBody)
	}
}

func TestStory_BobKey_EngineeringRoute403(t *testing.T) {
	env := kctest.Require(t)
	api := startAPI(t, env)
	hc := clientFor(t, env, "bob")

	if status, _, body := get(t, hc, api+"/hello"); status != http.StatusOK || body["username"] != "bob" {
		t.Fatalf("/hello: %d %v", status, body)
	}
	status, hdr, body := get(t, hc, api+"/engineering/reports")
	if status != http.StatusForbidden || body["status"] != float64(http.StatusForbidden) {
		t.Fatalf("/engineering/reports: %d %v", status, body)
	}
	if ch := hdr.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("challenge %q, content type %q", ch, hdr.Get("Content-Type"))
	}
}

func TestStory_NoTokenOrRawKey401_UnknownKeyStopsAtTheClient(t *testing.T) {
	env := kctest.Require(t)
	api := startAPI(t, env)
	status, hdr, _ := get(t, http.DefaultClient, api+"/hello")
	if status != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("no token: %d %q", status, hdr.Get("WWW-Authenticate"))
	}
	// The key itself never reaches the API: sent as a bearer token it is refused.
	key := keyFor(t, env, "alice")
	req, _ := http.NewRequest(http.MethodGet, api+"/hello", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API key as a bearer token: %d, want 401", resp.StatusCode)
	}
	ts, err := client.New(client.Config{URL: env.KeywardURL, APIKey: "kw_live_never_issued"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client(context.Background()).Get(api + "/hello"); !errors.Is(err, client.ErrInvalidKey) {
		t.Fatalf("unknown key: %v, want client.ErrInvalidKey before the API is called", err)
	}
}
