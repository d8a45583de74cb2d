package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The sidecar's tests: an httptest server stands for Keyward's /v1/forward-auth (its
// answer set per test) and another for the upstream, which records what it received.

const testToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"

type seen struct {
	method, path, rawQuery, host string
	header                       http.Header
	bodyHash                     [32]byte
}

// fakeKeyward answers forward-auth with answer (200 + testToken by default) and
// records each request.
type fakeKeyward struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []seen
	answer func(w http.ResponseWriter, r *http.Request)
}

func newFakeKeyward(t *testing.T) *fakeKeyward {
	f := &fakeKeyward{answer: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Authorization", "Bearer "+testToken)
		w.Header().Set("Cache-Control", "no-store")
	}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.got = append(f.got, seen{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, host: r.Host, header: r.Header.Clone()})
		answer := f.answer
		f.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKeyward) setAnswer(a func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func (f *fakeKeyward) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// recordingUpstream records every request it receives, reading the body to its end.
type recordingUpstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []seen
	handler http.HandlerFunc // nil: record and answer 200 "upstream"
}

func newUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.handler != nil {
			u.handler(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, seen{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, host: r.Host,
			header: r.Header.Clone(), bodyHash: sha256.Sum256(b)})
		u.mu.Unlock()
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *recordingUpstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.got...)
}

func newTestProxy(t *testing.T, keywardURL, upstreamURL string, log *zap.Logger) *httptest.Server {
	t.Helper()
	h, err := NewProxy(ProxyConfig{KeywardURL: keywardURL, Upstream: upstreamURL, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, method, url string, body io.Reader, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// keyAnywhere says whether any header name or value of h, or the query, holds key.
func keyAnywhere(s seen, key string) bool {
	if strings.Contains(s.rawQuery, key) || strings.Contains(s.path, key) {
		return true
	}
	for name, vs := range s.header {
		if strings.Contains(name, key) {
			return true
		}
		for _, v := range vs {
			if strings.Contains(v, key) {
				return true
			}
		}
	}
	return false
}

func TestProxy_EveryKeyForm_UpstreamGetsTheBearerTokenOnly(t *testing.T) {
	key, other := newKey(t), newKey(t)
	tests := []struct {
		name    string
		headers []string
	}{
		{"X-API-Key", []string{"X-API-Key", key}},
		{"x-api-key lower case", []string{"x-api-key", key}},
		{"Authorization ApiKey", []string{"Authorization", "ApiKey " + key}},
		{"Authorization Bearer key", []string{"Authorization", "Bearer " + key}},
		{"Basic key as password", []string{"Authorization", basic("analyst@example.com", key)}},
		{"Basic key as user name", []string{"Authorization", basic(key, "")}},
		{"X-API-Key and another key in Authorization", []string{"X-API-Key", key, "Authorization", basic("u", other)}},
		{"X-API-Key twice", []string{"X-API-Key", key, "X-API-Key", other}},
		{"Authorization twice", []string{"Authorization", "ApiKey " + key, "Authorization", "Bearer " + other}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kw, up := newFakeKeyward(t), newUpstream(t)
			p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
			resp, body := send(t, "GET", p.URL+"/reports/1", nil, tc.headers...)
			if resp.StatusCode != 200 || body != "upstream" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			asked := kw.requests()
			if len(asked) != 1 || asked[0].path != "/v1/forward-auth" || asked[0].header.Get("X-API-Key") != key {
				t.Fatalf("Keyward was asked %+v, want the key in X-API-Key", asked)
			}
			if asked[0].header.Get("Authorization") != "" || keyAnywhere(seen{header: asked[0].header}, other) {
				t.Fatal("more than the key went to Keyward")
			}
			got := up.requests()
			if len(got) != 1 {
				t.Fatalf("upstream got %d requests", len(got))
			}
			if v := got[0].header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer "+testToken {
				t.Fatalf("upstream Authorization %q", v)
			}
			if got[0].header.Get("X-API-Key") != "" || keyAnywhere(got[0], key) || keyAnywhere(got[0], other) {
				t.Fatalf("a key reached the upstream: %v %q", got[0].header, got[0].rawQuery)
			}
		})
	}
}

func TestProxy_NoKey_KeywardsAnswerWithoutCredentials(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	kw.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "" || r.Header.Get("Authorization") != "" {
			t.Errorf("credentials sent for a request that had none: %v", r.Header)
		}
		w.Header().Add("WWW-Authenticate", `Basic realm="keyward", charset="UTF-8"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
	// A JWT is not a key, and a key in the query string is not read at all.
	for _, h := range [][]string{nil, {"Authorization", "Bearer " + testToken}, {"Authorization", "Token " + newKey(t)}} {
		resp, _ := send(t, "GET", p.URL+"/x?api_key="+newKey(t), nil, h...)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%v: %d", h, resp.StatusCode)
		}
	}
	if len(up.requests()) != 0 {
		t.Fatal("the upstream was reached without a key")
	}
}

func TestProxy_QueryString_PassedThroughUnread_NoneAdded(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	key := newKey(t)
	p := newTestProxy(t, kw.srv.URL, up.srv.URL+"/api", nil)
	send(t, "GET", p.URL+"/items", nil, "X-API-Key", key)
	send(t, "GET", p.URL+"/items?page=2&q=a%20b", nil, "X-API-Key", key)
	got := up.requests()
	if len(got) != 2 || got[0].path != "/api/items" || got[0].rawQuery != "" || got[1].rawQuery != "page=2&q=a%20b" {
		t.Fatalf("upstream saw %+v", got)
	}
	for _, r := range kw.requests() {
		if r.rawQuery != "" {
			t.Fatalf("the query went to Keyward: %q", r.rawQuery)
		}
	}
}

func TestProxy_ForwardedHeaders_CallersClaimsReplaced(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
	resp, _ := send(t, "POST", p.URL+"/v1/things", strings.NewReader("x"), "X-API-Key", newKey(t), "Host", "api.example.com",
		"X-Forwarded-For", "203.0.113.9", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https",
		"Forwarded", "for=203.0.113.9", "X-Real-IP", "203.0.113.9")
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	// req.Header "Host" is ignored by net/http: the Host sent is the proxy's address.
	wantHost := strings.TrimPrefix(p.URL, "http://")
	asked := kw.requests()[0]
	if asked.header.Get("X-Forwarded-For") != "127.0.0.1" || asked.header.Get("X-Forwarded-Proto") != "http" ||
		asked.header.Get("X-Forwarded-Host") != wantHost || asked.method != http.MethodGet {
		t.Fatalf("Keyward saw %s %v", asked.method, asked.header)
	}
	got := up.requests()[0]
	if got.method != "POST" || got.path != "/v1/things" || got.host != strings.TrimPrefix(up.srv.URL, "http://") {
		t.Fatalf("upstream request %s %s host %s", got.method, got.path, got.host)
	}
	for name, want := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http",
		"X-Forwarded-Host": wantHost, "Forwarded": "", "X-Real-Ip": ""} {
		if v := got.header.Values(name); strings.Join(v, ",") != want {
			t.Errorf("upstream %s: %q, want %q", name, v, want)
		}
	}
}

func TestProxy_Refusals_KeywardsAnswer_UpstreamNotReached(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header [][2]string
		body   string
	}{
		{"401 with challenges", 401, [][2]string{{"WWW-Authenticate", `Basic realm="keyward", charset="UTF-8"`},
			{"WWW-Authenticate", `Bearer realm="keyward", error="invalid_token"`}, {"Content-Type", "application/json"}}, `{"error":"invalid_grant"}`},
		{"429 with Retry-After", 429, [][2]string{{"Retry-After", "7"}}, ""},
		{"503 with Retry-After", 503, [][2]string{{"Retry-After", "30"}}, ""},
		{"403", 403, nil, "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kw, up := newFakeKeyward(t), newUpstream(t)
			kw.setAnswer(func(w http.ResponseWriter, r *http.Request) {
				for _, h := range tc.header {
					w.Header().Add(h[0], h[1])
				}
				w.Header().Set("X-Internal", "not for callers")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
			resp, body := send(t, "PUT", p.URL+"/data", strings.NewReader("payload"), "X-API-Key", newKey(t))
			if resp.StatusCode != tc.status || body != tc.body || resp.Header.Get("X-Internal") != "" {
				t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
			}
			for _, h := range tc.header {
				found := false
				for _, v := range resp.Header.Values(h[0]) {
					found = found || v == h[1]
				}
				if !found {
					t.Errorf("%s %q not relayed: %v", h[0], h[1], resp.Header)
				}
			}
			if len(up.requests()) != 0 {
				t.Fatal("the upstream was reached")
			}
		})
	}
}

func TestProxy_KeywardMisbehaves_502_UpstreamNotReached(t *testing.T) {
	key := newKey(t)
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Authorization", "Bearer "+testToken)
	}))
	defer other.Close()
	tests := map[string]func(w http.ResponseWriter, r *http.Request){
		"200 without Authorization":  func(w http.ResponseWriter, r *http.Request) {},
		"200 with an empty bearer":   func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Authorization", "Bearer ") },
		"200 with Basic":             func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Authorization", basic("a", "b")) },
		"200 with the key":           func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Authorization", "ApiKey "+key) },
		"500":                        func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
		"404 of a wrong KEYWARD_URL": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		// The key is for Keyward only: a redirect elsewhere is not followed.
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/v1/forward-auth", http.StatusTemporaryRedirect)
		},
	}
	for name, answer := range tests {
		t.Run(name, func(t *testing.T) {
			kw, up := newFakeKeyward(t), newUpstream(t)
			kw.setAnswer(answer)
			p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
			if resp, _ := send(t, "GET", p.URL+"/", nil, "X-API-Key", key); resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("%d", resp.StatusCode)
			}
			if len(up.requests()) != 0 || elsewhere.Load() != 0 {
				t.Fatal("the request went on")
			}
		})
	}
}

func TestProxy_KeywardDown_503_UpstreamNotReached(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	down := kw.srv.URL
	kw.srv.Close()
	core, logs := observer.New(zap.DebugLevel)
	p := newTestProxy(t, down, up.srv.URL, zap.New(core))
	key := newKey(t)
	resp, _ := send(t, "GET", p.URL+"/x?api_key="+key, nil, "X-API-Key", key)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	if len(up.requests()) != 0 {
		t.Fatal("the upstream was reached")
	}
	assertLogged(t, logs, key)
}

func TestProxy_UpstreamDown_502_KeyNotLogged(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	up.srv.Close()
	core, logs := observer.New(zap.DebugLevel)
	p := newTestProxy(t, kw.srv.URL, up.srv.URL, zap.New(core))
	key := newKey(t)
	// A key in the query is not read, but it must not reach a log line either.
	if resp, _ := send(t, "GET", p.URL+"/x?api_key="+key, nil, "X-API-Key", key); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("%d", resp.StatusCode)
	}
	assertLogged(t, logs, key)
}

// assertLogged: something was logged (else the check proves nothing), never the key.
func assertLogged(t *testing.T, logs *observer.ObservedLogs, key string) {
	t.Helper()
	if logs.Len() == 0 {
		t.Fatal("the failure was not logged")
	}
	for _, e := range logs.All() {
		if strings.Contains(e.Message, key) {
			t.Fatal("the key is in a log message")
		}
		for name, v := range e.ContextMap() {
			if strings.Contains(fmt.Sprint(v), key) {
				t.Fatalf("the key is in log field %s", name)
			}
		}
	}
}

func TestProxy_Healthz_AnsweredBySidecar(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	kw.srv.Close() // healthy even when Keyward is not: it says the sidecar runs
	p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
	resp, body := send(t, "GET", p.URL+HealthPath, nil)
	if resp.StatusCode != 200 || body != "ok\n" || len(up.requests()) != 0 {
		t.Fatalf("%d %q, upstream %d", resp.StatusCode, body, len(up.requests()))
	}
	if resp, _ := send(t, "GET", p.URL+"/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/healthz is the upstream's path, behind the key: %d", resp.StatusCode)
	}
}

func TestProxy_AsksOnEveryRequest_RevocationShowsAtOnce(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
	key := newKey(t)
	for range 3 {
		if resp, _ := send(t, "GET", p.URL+"/", nil, "X-API-Key", key); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
	}
	if n := len(kw.requests()); n != 3 {
		t.Fatalf("Keyward asked %d times for 3 requests", n)
	}
	kw.setAnswer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	if resp, _ := send(t, "GET", p.URL+"/", nil, "X-API-Key", key); resp.StatusCode != 401 || len(up.requests()) != 3 {
		t.Fatalf("after revocation: %d, upstream %d", resp.StatusCode, len(up.requests()))
	}
}

// The upstream reads the first part of the body before the caller has sent the rest:
// a proxy that buffered the body would wait for the end and never deliver it.
func TestProxy_RequestBody_Streamed(t *testing.T) {
	kw, up := newFakeKeyward(t), newUpstream(t)
	firstSeen := make(chan struct{})
	const first, rest = 256 << 10, 4 << 20 // well past any copy buffer
	var upstreamHash [32]byte
	up.handler = func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.CopyN(h, r.Body, first); err != nil {
			t.Errorf("first part: %v", err)
			return
		}
		close(firstSeen)
		if _, err := io.Copy(h, r.Body); err != nil {
			t.Errorf("rest: %v", err)
		}
		copy(upstreamHash[:], h.Sum(nil))
		w.WriteHeader(http.StatusCreated)
	}
	p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
	payload := bytes.Repeat([]byte("0123456789abcdef"), (first+rest)/16)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock fails, not hangs
	defer cancel()
	go func() {
		if _, err := pw.Write(payload[:first]); err != nil {
			return
		}
		select {
		case <-firstSeen:
			_, _ = pw.Write(payload[first:])
			_ = pw.Close()
		case <-ctx.Done():
			_ = pw.CloseWithError(ctx.Err())
		}
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+"/upload", pr) // no length: chunked
	req.Header.Set("X-API-Key", newKey(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the body was not streamed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || upstreamHash != sha256.Sum256(payload) {
		t.Fatalf("%d, body intact %v", resp.StatusCode, upstreamHash == sha256.Sum256(payload))
	}
}

// The caller reads the first part of the answer before the upstream writes the rest. With
// a known length, nothing but the proxy's flushing sends a part that small early; without
// one (chunked) or for an event stream, ReverseProxy must flush at every write.
func TestProxy_ResponseBody_Streamed(t *testing.T) {
	for _, tc := range []struct{ name, contentType string }{
		{"known length", "application/octet-stream"},
		{"chunked", "application/octet-stream"},
		{"event stream", "text/event-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kw, up := newFakeKeyward(t), newUpstream(t)
			callerGotFirst := make(chan struct{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			up.handler = func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				if tc.name == "known length" {
					w.Header().Set("Content-Length", fmt.Sprint(len("first line\n")+1<<20))
				}
				_, _ = w.Write([]byte("first line\n"))
				w.(http.Flusher).Flush()
				select {
				case <-callerGotFirst:
					_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
				case <-ctx.Done():
				}
			}
			p := newTestProxy(t, kw.srv.URL, up.srv.URL, nil)
			req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/events", nil)
			req.Header.Set("Authorization", basic("", newKey(t)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, len("first line\n"))
			if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first line\n" {
				t.Fatalf("first part not streamed: %q %v", buf, err)
			}
			close(callerGotFirst)
			n, err := io.Copy(io.Discard, resp.Body)
			if err != nil || n != 1<<20 {
				t.Fatalf("rest: %d %v", n, err)
			}
		})
	}
}

func TestNewProxy_BadConfig_EveryProblemNamed(t *testing.T) {
	tests := []struct{ keyward, upstream, want string }{
		{"", "", "the Keyward URL is empty; the upstream URL is empty"},
		{"ftp://keyward", "127.0.0.1:9000", `the Keyward URL "ftp://keyward" is not an http(s) URL; the upstream URL "127.0.0.1:9000" is not an http(s) URL`},
		{"http://u:p@keyward", "http://api", "the Keyward URL must not carry a user name or password"},
		{"ftp://u:p@keyward", "http://api", `the Keyward URL "ftp://u:xxxxx@keyward" is not an http(s) URL`},
		{"http://keyward", "http://api?api_key=x", "the upstream URL must have no query or fragment"},
	}
	for _, tc := range tests {
		_, err := NewProxy(ProxyConfig{KeywardURL: tc.keyward, Upstream: tc.upstream})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q: %v, want %q", tc.keyward, tc.upstream, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "u:p") {
			t.Errorf("the password is in the error: %v", err)
		}
	}
}
