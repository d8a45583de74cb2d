package main

// keyward proxy end to end: a real Keyward (with its token cache on, as deployed) on the
// real Keycloak, the sidecar run by the command line in process, and an upstream that
// records what it receives and checks each bearer at Keycloak's userinfo.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/gateway"
	"github.com/keyward/keyward/internal/kctest"
)

// upstreamSaw is one request as the upstream received it.
type upstreamSaw struct {
	method, rawQuery string
	header           http.Header
	bodyLen          int64
	bodyHash         [32]byte
	username         string // Keycloak's userinfo for the bearer; "" when refused
}

type recordingAPI struct {
	srv *httptest.Server
	mu  sync.Mutex
	saw []upstreamSaw
	// started is closed when a request to /slow has begun reading its body.
	started chan struct{}
}

func newRecordingAPI(t *testing.T, kc *kctest.Env) *recordingAPI {
	api := &recordingAPI{started: make(chan struct{})}
	api.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(api.started)
		}
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s := upstreamSaw{method: r.Method, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), bodyLen: n}
		copy(s.bodyHash[:], h.Sum(nil))
		s.username = userinfo(t, kc, r.Header.Get("Authorization"))
		api.mu.Lock()
		api.saw = append(api.saw, s)
		api.mu.Unlock()
		_, _ = io.WriteString(w, "hello "+s.username)
	}))
	t.Cleanup(api.srv.Close)
	return api
}

func (a *recordingAPI) requests() []upstreamSaw {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]upstreamSaw(nil), a.saw...)
}

// userinfo asks Keycloak whose token auth carries; "" when Keycloak refuses it.
func userinfo(t *testing.T, kc *kctest.Env, auth string) string {
	req, _ := http.NewRequest("GET", kc.Issuer()+"/protocol/openid-connect/userinfo", nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("userinfo: %v", err)
		return ""
	}
	defer resp.Body.Close()
	var info struct {
		PreferredUsername string `json:"preferred_username"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return ""
	}
	return info.PreferredUsername
}

// runningProxy is `keyward proxy` run through the command line in this process.
type runningProxy struct {
	url    string
	stop   context.CancelFunc
	exit   chan int
	stderr *syncBuffer
}

func startProxyCLI(t *testing.T, keywardURL, upstream string) *runningProxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &runningProxy{stop: cancel, exit: make(chan int, 1), stderr: &syncBuffer{}}
	env := map[string]string{"KEYWARD_URL": keywardURL}
	go func() {
		p.exit <- runCLIWith(ctx, []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", upstream},
			strings.NewReader(""), io.Discard, p.stderr, func(k string) string { return env[k] }, false)
	}()
	t.Cleanup(cancel)
	deadline := time.Now().Add(30 * time.Second)
	for p.url == "" {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var m struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "keyward proxy listening" {
				p.url = "http://" + m.Addr
			}
		}
		select {
		case code := <-p.exit:
			t.Fatalf("keyward proxy exited %d: %s", code, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyward proxy did not start: %s", p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the command's output for its address
	}
	return p
}

func TestProxy_EndToEnd(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_TOKEN_CACHE": "true"})
	api := newRecordingAPI(t, kc)
	proxy := startProxyCLI(t, app.url, api.srv.URL)
	aliceToken := kc.Login(t, "alice")
	id, key := app.createKey(t, aliceToken, "proxy-e2e")

	noKeyUpstream := func(t *testing.T, s upstreamSaw) {
		t.Helper()
		if s.header.Get("X-API-Key") != "" || strings.Contains(s.rawQuery, key) {
			t.Fatal("the key reached the upstream")
		}
		for name, vs := range s.header {
			for _, v := range vs {
				if strings.Contains(v, key) || strings.Contains(v, key[len(key)-16:]) {
					t.Fatalf("the key reached the upstream in %s", name)
				}
			}
		}
	}

	t.Run("Healthz_BySidecar", func(t *testing.T) {
		if got := call(t, "GET", proxy.url+gateway.HealthPath, nil); got.status != 200 || len(api.requests()) != 0 {
			t.Fatalf("%d, upstream %d", got.status, len(api.requests()))
		}
	})

	t.Run("POSTOfMegabytes_IntactWithAlicesToken_NeverTheKey", func(t *testing.T) {
		body := make([]byte, 3<<20+17)
		if _, err := rand.Read(body); err != nil {
			t.Fatal(err)
		}
		before := len(api.requests())
		for name, auth := range map[string][]string{
			"X-API-Key":         {"X-API-Key", key},
			"Basic as user":     {"Authorization", basicAuth(key, "")},
			"Basic as password": {"Authorization", basicAuth("alice@example.com", key)},
			"ApiKey":            {"Authorization", "ApiKey " + key},
			"Bearer key":        {"Authorization", "Bearer " + key},
		} {
			got := call(t, "POST", proxy.url+"/reports?format=csv", bytes.NewReader(body), auth...)
			if got.status != 200 || got.raw != "hello alice" {
				t.Fatalf("%s: %d %q", name, got.status, got.raw)
			}
		}
		saw := api.requests()[before:]
		if len(saw) != 5 {
			t.Fatalf("upstream got %d requests", len(saw))
		}
		for _, s := range saw {
			if s.method != "POST" || s.bodyLen != int64(len(body)) || s.bodyHash != sha256.Sum256(body) {
				t.Fatalf("body not intact: %s %d bytes", s.method, s.bodyLen)
			}
			if s.username != "alice" || !strings.HasPrefix(s.header.Get("Authorization"), "Bearer ey") {
				t.Fatalf("upstream bearer is not a token Keycloak accepts for alice: %q", s.username)
			}
			if s.rawQuery != "format=csv" || s.header.Get("X-Forwarded-For") != "127.0.0.1" ||
				s.header.Get("X-Forwarded-Proto") != "http" || s.header.Get("X-Forwarded-Host") != strings.TrimPrefix(proxy.url, "http://") {
				t.Fatalf("query %q, forwarded headers %v", s.rawQuery, s.header)
			}
			noKeyUpstream(t, s)
		}
	})

	t.Run("ForgedAndMisplacedKeys_401_UpstreamNotReached", func(t *testing.T) {
		forged, err := exchange.GenerateKey(exchange.EnvLive) // well formed, never issued
		if err != nil {
			t.Fatal(err)
		}
		swap := byte('0')
		if key[len(key)-1] == '0' {
			swap = '1'
		}
		before := len(api.requests())
		for name, auth := range map[string][]string{
			"forged key":               {"X-API-Key", forged.String()},
			"wrong checksum":           {"X-API-Key", key[:len(key)-1] + string(swap)},
			"alice's Keycloak token":   {"Authorization", "Bearer " + aliceToken},
			"no credentials":           nil,
			"key in the query ignored": nil,
		} {
			path := "/reports"
			if name == "key in the query ignored" {
				path += "?api_key=" + key
			}
			got := call(t, "GET", proxy.url+path, nil, auth...)
			if got.status != http.StatusUnauthorized || !strings.Contains(strings.Join(got.header.Values("WWW-Authenticate"), ","), "Basic") {
				t.Fatalf("%s: %d %v", name, got.status, got.header)
			}
		}
		if n := len(api.requests()); n != before {
			t.Fatalf("the upstream was reached %d times", n-before)
		}
	})

	t.Run("GracefulStop_RequestUnderWayFinishes", func(t *testing.T) {
		pr, pw := io.Pipe()
		type answer struct {
			status int
			body   string
			err    error
		}
		done := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest("PUT", proxy.url+"/slow", pr)
			req.Header.Set("X-API-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			done <- answer{resp.StatusCode, string(b), err}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := pw.Write(bytes.Repeat([]byte("a"), 64<<10)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-api.started:
		case <-ctx.Done():
			t.Fatal("the upload never reached the upstream")
		}
		proxy.stop()
		// Shutdown closes the listener first: wait for that, then finish the upload.
		for {
			c, err := net.Dial("tcp", strings.TrimPrefix(proxy.url, "http://"))
			if err != nil {
				break
			}
			c.Close()
			if ctx.Err() != nil {
				t.Fatal("the listener stayed open after the stop")
			}
			time.Sleep(10 * time.Millisecond) // polling for the listener to close
		}
		_, _ = pw.Write([]byte("end"))
		_ = pw.Close()
		if got := <-done; got.err != nil || got.status != 200 || got.body != "hello alice" {
			t.Fatalf("request under way: %d %q %v", got.status, got.body, got.err)
		}
		if code := <-proxy.exit; code != 0 {
			t.Fatalf("exit %d: %s", code, proxy.stderr.String())
		}
	})

	t.Run("RevokedKey_401AtOnce_UpstreamNotReached", func(t *testing.T) {
		proxy := startProxyCLI(t, app.url, api.srv.URL) // the first one has stopped
		if got := call(t, "GET", proxy.url+"/reports", nil, "X-API-Key", key); got.status != 200 {
			t.Fatalf("before revocation: %d %s", got.status, got.raw)
		}
		if got := call(t, "DELETE", app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+aliceToken); got.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", got.status, got.raw)
		}
		before := len(api.requests())
		for _, auth := range [][]string{{"X-API-Key", key}, {"Authorization", basicAuth(key, "")}} {
			if got := call(t, "GET", proxy.url+"/reports", nil, auth...); got.status != http.StatusUnauthorized {
				t.Fatalf("revoked key: %d %s", got.status, got.raw)
			}
		}
		if n := len(api.requests()); n != before {
			t.Fatal("the upstream was reached with a revoked key")
		}
	})

	t.Run("LogsHoldNoKey", func(t *testing.T) {
		for _, logs := range []string{proxy.stderr.String(), app.logs.String()} {
			if strings.Contains(logs, key) || strings.Contains(logs, key[len(key)-16:]) {
				t.Fatal("the key is in a log")
			}
		}
	})
}
