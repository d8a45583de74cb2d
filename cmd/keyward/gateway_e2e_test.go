package main

// The gatewayDoor through real gateways: Debian's nginx and caddy run the recipes of
// deploy/gateway in front of an upstream that records what it receives, with a Keyward
// wired as main wires it on the real Keycloak (DESIGN.md "The door"; "The key stays at
// the door").

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/gatewaytest"
	"github.com/keyward/keyward/internal/kctest"
)

// gatewayRevocationBound is the "revocation bound" of docs/operating/replicas.md: a revoked key is refused by every
// replica within it.
const gatewayRevocationBound = time.Second

func TestGateways(t *testing.T) {
	kc := kctest.Require(t)
	// The gateways reach Keyward from 127.0.0.1; clients come from other loopback
	// addresses, which Keyward must not believe.
	app := startAppWith(t, kc, map[string]string{"KEYWARD_TRUSTED_PROXIES": "127.0.0.1", "KEYWARD_TOKEN_CACHE": "true"})
	keywardAddr := strings.TrimPrefix(app.url, "http://")
	up := gatewaytest.NewUpstream(t)
	gateways := []struct {
		name  string
		start func(t *testing.T) *gatewaytest.Gateway
	}{
		{"nginx", func(t *testing.T) *gatewaytest.Gateway { return gatewaytest.Nginx(t, keywardAddr, up.Addr) }},
		{"caddy", func(t *testing.T) *gatewaytest.Gateway { return gatewaytest.Caddy(t, app.url, up.URL) }},
	}
	for _, gw := range gateways {
		t.Run(gw.name, func(t *testing.T) {
			g := gw.start(t)
			d := gatewayDoor{t: t, app: app, gw: g, up: up, prefix: "/" + gw.name + "/" + kctest.Unique("run")}
			t.Run("EveryCredentialForm_UpstreamGetsTheOwnersToken_NeverTheKey", d.everyForm)
			t.Run("BadOrMissingKey_401WithBasicChallenge_UpstreamNotReached", d.refused)
			t.Run("RevokedKey_RefusedWithinTheRevocationBound", d.revoked)
			t.Run("IPAllowlist_JudgedByTheClientNotTheGateway", d.allowlist)
			t.Run("RateLimited_429WithRetryAfter_UpstreamNotReached", d.limited)
		})
	}
	// Keyward unreachable: the gatewayDoor stays shut; nginx's recipe says 503 (as Keyward does
	// when Keycloak is), Caddy its own 502.
	unreachable := []struct {
		name  string
		start func(t *testing.T) *gatewaytest.Gateway
		want  int
	}{
		{"nginx", func(t *testing.T) *gatewaytest.Gateway { return gatewaytest.Nginx(t, gatewaytest.FreeAddr(t), up.Addr) }, http.StatusServiceUnavailable},
		{"caddy", func(t *testing.T) *gatewaytest.Gateway {
			return gatewaytest.Caddy(t, "http://"+gatewaytest.FreeAddr(t), up.URL)
		}, http.StatusBadGateway},
	}
	for _, u := range unreachable {
		t.Run(u.name+"/KeywardUnreachable_DoorShut", func(t *testing.T) {
			path := "/unreachable/" + u.name + kctest.Unique("")
			got := sendVia(t, http.DefaultClient, "GET", u.start(t).URL+path, "", "X-API-Key", "kw_whatever")
			if got.status != u.want || len(up.Requests(path)) != 0 {
				t.Fatalf("Keyward down: %d (want %d), upstream reached %d times", got.status, u.want, len(up.Requests(path)))
			}
		})
	}
}

type gatewayDoor struct {
	t      *testing.T
	app    *running
	gw     *gatewaytest.Gateway
	up     *gatewaytest.Upstream
	prefix string // every path this gateway's tests ask for starts with it
	n      int
}

// path returns a fresh path under the door's prefix, with a query, for one request.
func (d *gatewayDoor) path(what string) string {
	d.n++
	return d.prefix + "/" + what + "/" + string(rune('a'+d.n%26)) + kctest.Unique("") + "?page=2"
}

type gatewayAnswer struct {
	status int
	header http.Header
	body   string
}

func sendVia(t *testing.T, c *http.Client, method, url, body string, headers ...string) gatewayAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return gatewayAnswer{resp.StatusCode, resp.Header, string(b)}
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// reachedOnce returns the one request the upstream received on path, or fails.
func (d *gatewayDoor) reachedOnce(path string) gatewaytest.Recorded {
	d.t.Helper()
	got := d.up.Requests(strings.SplitN(path, "?", 2)[0])
	if len(got) != 1 {
		d.t.Fatalf("%s reached the upstream %d times, want once", path, len(got))
	}
	return got[0]
}

func (d *gatewayDoor) notReached(path string) {
	d.t.Helper()
	if got := d.up.Requests(strings.SplitN(path, "?", 2)[0]); len(got) != 0 {
		d.t.Fatalf("%s reached the upstream: %+v", path, got[0])
	}
}

// keyAbsent fails when the key, or any header value the client sent, shows anywhere in
// what the upstream received.
func (d *gatewayDoor) keyAbsent(r gatewaytest.Recorded, key string, sent []string) {
	d.t.Helper()
	secrets := append([]string{key}, sent...)
	for _, s := range secrets {
		if strings.Contains(r.URL, s) || strings.Contains(r.Body, s) {
			d.t.Fatalf("the upstream received a form of the key in the URL or body: %q", r.URL)
		}
		for name, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, s) {
					d.t.Fatalf("the upstream received a form of the key in %s", name)
				}
			}
		}
	}
	if _, ok := r.Header["X-Api-Key"]; ok {
		d.t.Fatal("the upstream received an X-API-Key header")
	}
}

// ownersToken checks that the upstream got a Bearer token that Keycloak accepts for
// the user whose id is owner.
func (d *gatewayDoor) ownersToken(r gatewaytest.Recorded, owner string) {
	d.t.Helper()
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
		d.t.Fatalf("the upstream's Authorization: %d values", len(auth))
	}
	tok := strings.TrimPrefix(auth[0], "Bearer ")
	remember(tok)
	kc := d.app.kc
	info := call(d.t, "GET", kc.Issuer()+"/protocol/openid-connect/userinfo", nil, "Authorization", "Bearer "+tok)
	if info.status != http.StatusOK || info.body["sub"] != owner {
		d.t.Fatalf("Keycloak's userinfo for the upstream's token: %d, sub %v, want %s", info.status, info.body["sub"], owner)
	}
}

func (d *gatewayDoor) everyForm(t *testing.T) {
	d.t = t
	kc := d.app.kc
	_, key := d.app.createKey(t, kc.Login(t, "alice"), kctest.Unique("gateway"))
	owner := kc.UserID(t, "alice")
	forms := []struct {
		name          string
		header, value string
	}{
		{"X-API-Key", "X-API-Key", key},
		{"Authorization: ApiKey", "Authorization", "ApiKey " + key},
		{"Authorization: Bearer key", "Authorization", "Bearer " + key},
		{"Basic, key as password (curl -u anything:KEY)", "Authorization", basicAuth("anything", key)},
		{"Basic, key as user name (curl -u KEY:)", "Authorization", basicAuth(key, "")},
	}
	for _, f := range forms {
		for _, method := range []string{"GET", "POST"} {
			path := d.path("form")
			got := sendVia(t, http.DefaultClient, method, d.gw.URL+path, "a body for the API", f.header, f.value)
			if got.status != http.StatusOK || got.body != "upstream" {
				t.Fatalf("%s, %s: %d %q", f.name, method, got.status, got.body)
			}
			r := d.reachedOnce(path)
			if r.Method != method || r.URL != path {
				t.Fatalf("%s: the upstream got %s %s, want %s %s", f.name, r.Method, r.URL, method, path)
			}
			if method == "POST" && r.Body != "a body for the API" {
				t.Fatalf("%s: the upstream got the body %q", f.name, r.Body)
			}
			d.keyAbsent(r, key, []string{f.value})
			d.ownersToken(r, owner)
		}
	}
}

func (d *gatewayDoor) refused(t *testing.T) {
	d.t = t
	kc := d.app.kc
	_, key := d.app.createKey(t, kc.Login(t, "alice"), kctest.Unique("gateway-refused"))
	forged, _ := exchange.GenerateKey(exchange.EnvLive)
	last := "a"
	if strings.HasSuffix(key, "a") {
		last = "b"
	}
	wrong := key[:len(key)-1] + last // one character changed
	jwt := kc.Login(t, "alice")      // a valid Keycloak token is not a key
	remember(jwt)
	cases := []struct{ name, header, value string }{
		{"no credentials", "", ""},
		{"forged key", "X-API-Key", forged.String()},
		{"key with a character changed", "X-API-Key", wrong},
		{"not a key", "X-API-Key", "nope"},
		{"Basic, wrong password", "Authorization", basicAuth("alice", "alice")},
		{"Basic, key with a password too", "Authorization", basicAuth(forged.String(), "x")},
		{"Bearer, a Keycloak token", "Authorization", "Bearer " + jwt},
	}
	for _, c := range cases {
		path := d.path("refused")
		var headers []string
		if c.header != "" {
			headers = []string{c.header, c.value}
		}
		got := sendVia(t, http.DefaultClient, "GET", d.gw.URL+path, "", headers...)
		if got.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", c.name, got.status)
		}
		if !basicChallenge(got.header) {
			t.Fatalf("%s: WWW-Authenticate %q, want a Basic challenge", c.name, got.header.Values("WWW-Authenticate"))
		}
		d.notReached(path)
	}
}

func basicChallenge(h http.Header) bool {
	for _, v := range h.Values("WWW-Authenticate") {
		if strings.HasPrefix(v, `Basic realm="keyward"`) {
			return true
		}
	}
	return false
}

func (d *gatewayDoor) revoked(t *testing.T) {
	d.t = t
	kc := d.app.kc
	user := kc.Login(t, "alice")
	id, key := d.app.createKey(t, user, kctest.Unique("gateway-revoked"))
	path := d.path("revoked")
	if got := sendVia(t, http.DefaultClient, "GET", d.gw.URL+path, "", "X-API-Key", key); got.status != http.StatusOK {
		t.Fatalf("before revocation: %d", got.status)
	}
	if got := call(t, "DELETE", d.app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+user); got.status != http.StatusNoContent && got.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", got.status, got.raw)
	}
	// The token the gateway's upstream got a moment ago is still cached by Keyward; the
	// key must be refused all the same.
	deadline := time.Now().Add(gatewayRevocationBound + 2*time.Second)
	for {
		p := d.path("revoked")
		got := sendVia(t, http.DefaultClient, "GET", d.gw.URL+p, "", "X-API-Key", key)
		if got.status == http.StatusUnauthorized {
			d.notReached(p)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still answered %d after %v", got.status, gatewayRevocationBound)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

func (d *gatewayDoor) allowlist(t *testing.T) {
	d.t = t
	kc := d.app.kc
	k := createKeyWith(t, d.app, kc.Login(t, "alice"), `{"name":"`+kctest.Unique("gateway-allowlist")+`","ip_allowlist":["127.0.0.2/32"]}`)
	key := k["key"].(string)
	allowed, other := dialingFrom("127.0.0.2"), dialingFrom("127.0.0.3")
	path := d.path("allowed")
	if got := sendVia(t, allowed, "GET", d.gw.URL+path, "", "X-API-Key", key); got.status != http.StatusOK {
		t.Fatalf("from the allowed address: %d %s", got.status, got.body)
	}
	d.reachedOnce(path)
	// Another address, also when it names the allowed one in its own X-Forwarded-For
	// (first, last, or as the only value).
	for _, xff := range []string{"", "127.0.0.2", "127.0.0.2, 127.0.0.1", "127.0.0.1, 127.0.0.2"} {
		p := d.path("outside")
		headers := []string{"X-API-Key", key}
		if xff != "" {
			headers = append(headers, "X-Forwarded-For", xff)
		}
		if got := sendVia(t, other, "GET", d.gw.URL+p, "", headers...); got.status != http.StatusUnauthorized {
			t.Fatalf("from outside the allowlist (X-Forwarded-For %q): %d", xff, got.status)
		}
		d.notReached(p)
	}
}

func (d *gatewayDoor) limited(t *testing.T) {
	d.t = t
	kc := d.app.kc
	k := createKeyWith(t, d.app, kc.Login(t, "alice"), `{"name":"`+kctest.Unique("gateway-limited")+`","rate_limit":{"requests":1,"window_seconds":3600}}`)
	key := k["key"].(string)
	first := d.path("limited")
	if got := sendVia(t, http.DefaultClient, "GET", d.gw.URL+first, "", "X-API-Key", key); got.status != http.StatusOK {
		t.Fatalf("first request: %d", got.status)
	}
	p := d.path("limited")
	got := sendVia(t, http.DefaultClient, "GET", d.gw.URL+p, "", "X-API-Key", key)
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" {
		t.Fatalf("past the limit: %d, Retry-After %q", got.status, got.header.Get("Retry-After"))
	}
	d.notReached(p)
}
