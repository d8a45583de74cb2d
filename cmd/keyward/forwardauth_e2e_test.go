package main

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kctest"
)

// The door on the real stack: a gateway's forward-auth request with any credential
// form gets a token Keycloak itself accepts for the key's owner; a key's repeated
// requests are answered from the token cache without Keycloak; a revoked key is
// refused at once; the IP allowlist judges the address a trusted proxy forwards.
func TestForwardAuth_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	const proxy, stranger = "127.0.0.5", "127.0.0.6"
	app := startAppWith(t, kc, map[string]string{
		"KEYWARD_TOKEN_CACHE":     "true",
		"KEYWARD_TRUSTED_PROXIES": proxy,
	})
	alice := kc.Login(t, "alice")
	aliceID := kc.UserID(t, "alice")
	gateway, other := dialingFrom(proxy), dialingFrom(stranger)

	t.Run("EachCredentialForm_TokenKeycloakAcceptsForTheOwner", func(t *testing.T) {
		_, key := app.createKey(t, alice, "door-forms")
		basic := func(user, pass string) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		}
		for name, hdrs := range map[string][]string{
			"X-API-Key":              {"X-API-Key", key},
			"ApiKey":                 {"Authorization", "ApiKey " + key},
			"Bearer key":             {"Authorization", "Bearer " + key},
			"Basic, key as password": {"Authorization", basic("alice@example.com", key)},
			"Basic, key as user":     {"Authorization", basic(key, "")},
		} {
			got := forwardAuth(t, gateway, "GET", app.url+"/v1/forward-auth/api/data.csv", hdrs...)
			tok := grantedToken(t, name, got)
			info := call(t, "GET", kc.Issuer()+"/protocol/openid-connect/userinfo", nil, "Authorization", "Bearer "+tok)
			if info.status != http.StatusOK || info.body["sub"] != aliceID {
				t.Fatalf("%s: userinfo with the door's token: %d %s", name, info.status, info.raw)
			}
		}
	})

	t.Run("RepeatedRequests_AnyMethodAndPath_NeverReachKeycloak", func(t *testing.T) {
		_, key := app.createKey(t, alice, "door-cache")
		grantedToken(t, "priming", forwardAuth(t, gateway, "GET", app.url+"/v1/forward-auth", "X-API-Key", key))
		before := scrape(t, app)
		const n = 24
		methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"}
		paths := []string{"/v1/forward-auth", "/v1/forward-auth/", "/v1/forward-auth/reports/2025/q1.csv?sheet=2"}
		for i := 0; i < n; i++ {
			m, p := methods[i%len(methods)], paths[i%len(paths)]
			grantedToken(t, m+" "+p, forwardAuth(t, gateway, m, app.url+p, "X-API-Key", key))
		}
		after := scrape(t, app)
		grants := `keyward_keycloak_request_duration_seconds_count{op="jwt_bearer_grant"}`
		if d := after[grants] - before[grants]; d != 0 {
			t.Fatalf("%v repeated requests of one key asked Keycloak %v times", n, d)
		}
		hits := `keyward_token_cache_requests_total{result="hit"}`
		if d := after[hits] - before[hits]; d != n {
			t.Fatalf("cache hits grew by %v, want %d", d, n)
		}
		viaDoor := `keyward_exchanges_total{outcome="issued",via="forward_auth"}`
		viaToken := `keyward_exchanges_total{outcome="issued",via="token"}`
		if d := after[viaDoor] - before[viaDoor]; d != n || after[viaToken] != before[viaToken] {
			t.Fatalf("issued via the door grew by %v (want %d), via /v1/token by %v (want 0)",
				d, n, after[viaToken]-before[viaToken])
		}
	})

	t.Run("RevokedKey_401AtOnce", func(t *testing.T) {
		id, key := app.createKey(t, alice, "door-revoked")
		grantedToken(t, "before", forwardAuth(t, gateway, "GET", app.url+"/v1/forward-auth", "X-API-Key", key))
		if got := call(t, "DELETE", app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+alice); got.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", got.status, got.raw)
		}
		got := forwardAuth(t, gateway, "GET", app.url+"/v1/forward-auth", "X-API-Key", key)
		missing := forwardAuth(t, gateway, "GET", app.url+"/v1/forward-auth")
		if got.status != http.StatusUnauthorized || got.raw != missing.raw ||
			strings.Join(got.header.Values("WWW-Authenticate"), "|") != strings.Join(missing.header.Values("WWW-Authenticate"), "|") {
			t.Fatalf("revoked key: %d %s; missing key: %d %s", got.status, got.raw, missing.status, missing.raw)
		}
		if !strings.HasPrefix(got.header.Get("WWW-Authenticate"), `Basic realm="keyward"`) || got.header.Get("Authorization") != "" {
			t.Fatalf("revoked key: challenge %q, Authorization %q", got.header.Get("WWW-Authenticate"), got.header.Get("Authorization"))
		}
	})

	t.Run("IPAllowlist_JudgedByTheTrustedProxysForwardedFor", func(t *testing.T) {
		created := call(t, "POST", app.url+"/v1/keys", strings.NewReader(`{"name":"door-office","ip_allowlist":["203.0.113.0/24"]}`),
			"Authorization", "Bearer "+alice, "Content-Type", "application/json")
		if created.status != http.StatusCreated {
			t.Fatalf("create: %d %s", created.status, created.raw)
		}
		key := created.body["key"].(string)
		remember(key)
		for _, c := range []struct {
			name   string
			client *http.Client
			xff    string
			want   int
		}{
			{"trusted proxy, client inside", gateway, "203.0.113.9", 200},
			{"trusted proxy, client outside", gateway, "198.51.100.7", 401},
			{"trusted proxy, client forged an inside entry", gateway, "203.0.113.9, 198.51.100.7", 401},
			{"untrusted peer claims an inside address", other, "203.0.113.9", 401},
		} {
			got := forwardAuth(t, c.client, "GET", app.url+"/v1/forward-auth/x", "X-API-Key", key, "X-Forwarded-For", c.xff)
			if got.status != c.want {
				t.Errorf("%s: %d, want %d", c.name, got.status, c.want)
			}
		}
	})
}

// dialingFrom is a client whose connections come from ip (a loopback address).
func dialingFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
}

// forwardAuth sends a gateway's forward-auth request; headers are name, value pairs.
func forwardAuth(t *testing.T, c *http.Client, method, url string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
}

// grantedToken is the Keycloak token of a 200 from the door, which has no body.
func grantedToken(t *testing.T, name string, got reply) string {
	t.Helper()
	tok, ok := strings.CutPrefix(got.header.Get("Authorization"), "Bearer ")
	if got.status != http.StatusOK || !ok || strings.Count(tok, ".") != 2 || got.raw != "" ||
		got.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s: %d Authorization %.20q… body %q", name, got.status, got.header.Get("Authorization"), got.raw)
	}
	remember(tok)
	return tok
}

// scrape reads the app's metrics as series → value.
func scrape(t *testing.T, app *running) map[string]float64 {
	t.Helper()
	got := call(t, "GET", app.url+"/metrics", nil)
	if got.status != http.StatusOK {
		t.Fatalf("/metrics: %d", got.status)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(got.raw, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
