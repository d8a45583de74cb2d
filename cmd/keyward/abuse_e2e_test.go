package main

// The exchange path under abuse and outages, on the real Keycloak, PostgreSQL and Redis.

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/redistest"
)

// proxy is a TCP forwarder the test can cut and restore, to take a real dependency
// (Keycloak, PostgreSQL) away from Keyward and give it back on the same address.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every open connection: the dependency is gone.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// restore listens again on the same address.
func (p *proxy) restore() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("restore proxy on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func TestOutage_KeycloakDown_503ThenRecovers(t *testing.T) {
	kc := kctest.Require(t)
	target := strings.TrimPrefix(kc.URL, "http://")
	kcProxy := newProxy(t, target)
	// Keyward calls Keycloak through the proxy; Keycloak pins its hostname, so tokens
	// keep their issuer whichever address was called.
	app := startThrough(t, kc, kcProxy)
	userToken := kc.Login(t, "alice")
	id, key := app.createKey(t, userToken, "outage")
	app.mustToken(t, key)

	kcProxy.cut()
	got := app.exchange(t, key)
	if got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" || got.body["error"] != "temporarily_unavailable" {
		t.Fatalf("exchange with Keycloak down: %d %s", got.status, got.raw)
	}
	if ready := call(t, "GET", app.url+"/readyz", nil); ready.status != 503 || !strings.Contains(ready.raw, `"keycloak":"down"`) {
		t.Fatalf("readyz with Keycloak down: %d %s", ready.status, ready.raw)
	}
	kcProxy.restore()
	app.awaitExchange(t, key, "after Keycloak came back")
	k := call(t, "GET", app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+userToken)
	if k.status != 200 || k.body["status"] != "active" {
		t.Fatalf("the outage changed the key: %d %s", k.status, k.raw)
	}
}

// awaitExchange retries exchanging key for up to 30 seconds until it succeeds, and
// fails the test if it never does; when says what it should recover from.
func (r *running) awaitExchange(t *testing.T, key, when string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := r.exchange(t, key)
		if got.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery %s: %d %s", when, got.status, got.raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startThrough starts an app whose Keycloak calls go through p while tokens still
// name Keycloak's pinned issuer.
func startThrough(t *testing.T, kc *kctest.Env, p *proxy) *running {
	return startAppWith(t, kc, map[string]string{
		"KEYWARD_KEYCLOAK_URL":     "http://" + p.addr,
		"KEYWARD_KEYCLOAK_ISSUER":  kc.Issuer(),
		"KEYWARD_KEYCLOAK_TIMEOUT": "2s",
	})
}

func TestOutage_DatabaseDown_503NothingHalfWritten(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbProxy := newProxy(t, u.Host)
	u.Host = dbProxy.addr
	app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": u.String()})
	userToken := kc.Login(t, "alice")
	_, key := app.createKey(t, userToken, "db-outage")
	app.mustToken(t, key)

	dbProxy.cut()
	// Key state comes from memory while key changes are heard; once the replica knows
	// it cannot hear them (at most a second), it reads the store, which is down.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(call(t, "GET", app.url+"/readyz", nil).raw, `"key_notifications":"down"`) {
		if time.Now().After(deadline) {
			t.Fatal("readyz never said key_notifications down with the database cut")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := app.exchange(t, key); got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
		t.Fatalf("exchange with the database down: %d %s", got.status, got.raw)
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/keys", ""}, {"POST", "/v1/keys", `{"name":"during-outage"}`},
	} {
		got := call(t, r.method, app.url+r.path, strings.NewReader(r.body),
			"Authorization", "Bearer "+userToken, "Content-Type", "application/json")
		if got.status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with the database down: %d %s", r.method, r.path, got.status, got.raw)
		}
	}
	if ready := call(t, "GET", app.url+"/readyz", nil); ready.status != 503 || !strings.Contains(ready.raw, `"database":"down"`) {
		t.Fatalf("readyz: %d %s", ready.status, ready.raw)
	}
	dbProxy.restore()
	app.awaitExchange(t, key, "after the database came back")
	list := call(t, "GET", app.url+"/v1/keys?q=during-outage", nil, "Authorization", "Bearer "+userToken)
	if strings.Contains(list.raw, "during-outage") {
		t.Fatal("a key created during the outage exists")
	}
}

func TestRateLimit_200Concurrent_Exactly50(t *testing.T) {
	kc := kctest.Require(t)
	backends := map[string]map[string]string{
		"memory": {"KEYWARD_RATE_LIMIT_BACKEND": "memory"},
		"redis":  {"KEYWARD_RATE_LIMIT_BACKEND": "redis", "KEYWARD_REDIS_URL": redistest.URL(t)},
	}
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			settings["KEYWARD_DATABASE_URL"] = pgtest.DSN(t)
			app := startAppWith(t, kc, settings)
			// 50 per hour, not per minute: a refill of one request every 72 s cannot
			// land inside the test, so exactly 50 is the only right answer.
			got := call(t, "POST", app.url+"/v1/keys",
				strings.NewReader(`{"name":"burst","rate_limit":{"requests":50,"window_seconds":3600}}`),
				"Authorization", "Bearer "+kc.Login(t, "alice"), "Content-Type", "application/json")
			if got.status != 201 {
				t.Fatalf("create: %d %s", got.status, got.raw)
			}
			key := got.body["key"].(string)
			remember(key)
			counts := burst(t, app, key, 200)
			if counts[200] != 50 || counts[429] != 150 {
				t.Fatalf("statuses %v, want 50×200 and 150×429", counts)
			}
		})
	}
}

func burst(t *testing.T, app *running, key string, n int) map[int]int {
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 60 * time.Second}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", app.url+"/v1/token", nil)
			req.Header.Set("X-API-Key", key)
			resp, err := client.Do(req)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) {
					statuses <- -1
					return
				}
				statuses <- -2
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				statuses <- -429
				return
			}
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	return counts
}
