package main

// Three replicas as separate processes (`keyward server`, built here) on one
// PostgreSQL database and one Redis, on the real Keycloak. Keycloak checks their
// assertions against their own JWKS: the test makes an identity provider and an
// exchange client of its own in the realm whose JWKS URL is a round-robin proxy over
// the replicas (which is also their public URL), so that the replicas sign with the
// keys of their shared store — rotated during the test — not with the key file of the
// shared Keyward.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/redistest"
)

type replica struct {
	name, addr, dir string
	cmd             *exec.Cmd
	exited          chan struct{}
}

func (r *replica) url() string { return "http://" + r.addr }

type cluster struct {
	bin      string
	env      []string
	mu       sync.Mutex
	replicas []*replica
	proxy    *httptest.Server
	rr       atomic.Uint64
	jwks     atomic.Int64 // JWKS fetches through the proxy (Keycloak's)
}

// buildKeyward compiles this package's binary once for the test.
func buildKeyward(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyward")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newCluster starts n replicas one after the other (the first sets up the store).
func newCluster(t *testing.T, kc *kctest.Env, n int) *cluster {
	t.Helper()
	c := &cluster{bin: buildKeyward(t)}
	c.proxy = httptest.NewServer(http.HandlerFunc(c.forward))
	t.Cleanup(c.proxy.Close)
	trust := kc.TempGrantTrust(t, c.proxy.URL, c.proxy.URL+"/.well-known/jwks.json")
	c.env = append(os.Environ(),
		"KEYWARD_PUBLIC_URL="+c.proxy.URL, "KEYWARD_KEYCLOAK_URL="+kc.URL, "KEYWARD_REALM="+kc.Realm,
		"KEYWARD_CLIENT_ID="+trust.ClientID, "KEYWARD_CLIENT_SECRET="+trust.ClientSecret, "KEYWARD_IDP_ALIAS="+trust.Alias,
		"KEYWARD_AUDIENCE=keyward",
		"KEYWARD_ADMIN_CLIENT_ID="+kc.AdminClientID, "KEYWARD_ADMIN_CLIENT_SECRET="+kc.AdminClientSecret,
		"KEYWARD_DATABASE_URL="+pgtest.DSN(t), "KEYWARD_RATE_LIMIT_BACKEND=redis", "KEYWARD_REDIS_URL="+redistest.URL(t),
		"KEYWARD_KEY_PEPPER="+strings.Repeat("p", 40), "KEYWARD_ENCRYPTION_KEY="+b64(strings.Repeat("e", 32)),
		"KEYWARD_USAGE_FLUSH_INTERVAL=200ms", "KEYWARD_EXCHANGE_FAILURE_BUDGET=0", "KEYWARD_LOG_LEVEL=info",
		"KEYWARD_SIGNING_KEY_FILE=", // the store makes its own keys
	)
	for i := range n {
		r := &replica{name: string(rune('A' + i)), addr: freeAddr(t), dir: t.TempDir()}
		c.replicas = append(c.replicas, r)
		c.start(t, r)
	}
	t.Cleanup(func() {
		for _, r := range c.replicas {
			c.stop(r)
		}
	})
	return c
}

func (c *cluster) start(t *testing.T, r *replica) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(r.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "server")
	cmd.Env = append(slices.Clone(c.env), "KEYWARD_LISTEN_ADDR="+r.addr, "KEYWARD_DATA_DIR="+filepath.Join(r.dir, "data"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	c.mu.Lock()
	r.cmd, r.exited = cmd, exited
	c.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(r.url() + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.Contains(body, []byte(`"key_notifications":"up"`)) {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("replica %s exited at start:\n%s", r.name, c.logTail(r))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready in 60s:\n%s", r.name, c.logTail(r))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cluster) logTail(r *replica) string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop ends a replica gracefully (SIGTERM: it flushes its usage).
func (c *cluster) stop(r *replica) {
	c.mu.Lock()
	cmd, exited := r.cmd, r.exited
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (c *cluster) kill(r *replica) {
	c.mu.Lock()
	cmd, exited := r.cmd, r.exited
	c.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// forward is the round-robin proxy: the next replica that answers.
func (c *cluster) forward(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/.well-known/jwks.json" {
		c.jwks.Add(1)
	}
	body, _ := io.ReadAll(req.Body)
	start := c.rr.Add(1)
	for i := range uint64(len(c.replicas)) {
		r := c.replicas[(start+i)%uint64(len(c.replicas))]
		out, _ := http.NewRequestWithContext(req.Context(), req.Method, r.url()+req.URL.RequestURI(), bytes.NewReader(body))
		out.Header = req.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			continue // down: the next one
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answers", http.StatusBadGateway)
}

var clusterClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

// exchangeAt posts key to one replica; status 0 means no answer (connection refused or
// reset: the replica is down).
func exchangeAt(r *replica, key string) int {
	req, _ := http.NewRequest("POST", r.url()+"/v1/token", nil)
	req.Header.Set("X-API-Key", key)
	resp, err := clusterClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func apiCall(t *testing.T, method, url, token, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return call(t, method, url, rd, "Authorization", "Bearer "+token, "Content-Type", "application/json")
}

func createKeyAt(t *testing.T, r *replica, token, body string) (id, key string) {
	t.Helper()
	got := apiCall(t, "POST", r.url()+"/v1/keys", token, body)
	if got.status != http.StatusCreated {
		t.Fatalf("create key at %s: %d %s", r.name, got.status, got.raw)
	}
	return got.body["id"].(string), got.body["key"].(string)
}

func TestThreeReplicas(t *testing.T) {
	kc := kctest.Require(t)
	c := newCluster(t, kc, 3)
	a, b, cc := c.replicas[0], c.replicas[1], c.replicas[2]
	_, username := kc.TempUser(t, "replicas")
	token := kc.Login(t, username)

	t.Run("RateLimit_200ConcurrentOverThree_Exactly50_UsageSumsExactly", func(t *testing.T) {
		id, key := createKeyAt(t, a, token, `{"name":"burst","rate_limit":{"requests":50,"window_seconds":3600}}`)
		statuses := make(chan int, 200)
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() { defer wg.Done(); statuses <- exchangeAt(c.replicas[i%3], key) }()
		}
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for s := range statuses {
			counts[s]++
		}
		if counts[200] != 50 || counts[429] != 150 {
			t.Fatalf("statuses %v, want 50×200 and 150×429", counts)
		}
		// Each replica flushes its own counts; after their flushes they add up exactly.
		want := `"success":50,"denied":{"rate_limited":150}`
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := apiCall(t, "GET", b.url()+"/v1/keys/"+id+"/usage", token, "")
			if strings.Contains(got.raw, `"period":{`+want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("usage never added up to 50 + 150: %s", got.raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second) // several flush intervals more: nothing counted twice
		if got := apiCall(t, "GET", cc.url()+"/v1/keys/"+id+"/usage", token, ""); !strings.Contains(got.raw, `"period":{`+want) {
			t.Fatalf("usage moved past the exact sum: %s", got.raw)
		}
	})

	t.Run("RevokedThroughA_RefusedByBAndC", func(t *testing.T) {
		var lags []time.Duration
		for range 30 {
			id, key := createKeyAt(t, a, token, `{"name":"revoke-`+kctest.Unique("k")+`"}`)
			for _, r := range []*replica{b, cc} { // each remembers the key
				if s := exchangeAt(r, key); s != 200 {
					t.Fatalf("exchange at %s before the revoke: %d", r.name, s)
				}
			}
			if got := apiCall(t, "DELETE", a.url()+"/v1/keys/"+id, token, ""); got.status/100 != 2 {
				t.Fatalf("revoke at A: %d %s", got.status, got.raw)
			}
			revoked := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, r := range []*replica{b, cc} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for exchangeAt(r, key) != 401 {
						if time.Since(revoked) > 10*time.Second {
							t.Errorf("replica %s still accepts a key revoked 10s ago", r.name)
							return
						}
					}
					mu.Lock()
					lags = append(lags, time.Since(revoked))
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
		slices.Sort(lags)
		p99 := lags[(len(lags)*99+99)/100-1]
		t.Logf("revocation through A seen by B and C: %d samples, median %v, p99 %v, max %v",
			len(lags), lags[len(lags)/2].Round(time.Millisecond), p99.Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	})

	t.Run("SigningKeyRotatedUnderLoad_NoExchangeFails", func(t *testing.T) {
		_, key := createKeyAt(t, a, token, `{"name":"rotation","rate_limit":{"requests":6000,"window_seconds":60}}`)
		before := c.jwks.Load()
		stop := make(chan struct{})
		var ok, failed atomic.Int64
		var failures sync.Map
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if s := exchangeAt(c.replicas[(w+i)%3], key); s == 200 {
						ok.Add(1)
					} else {
						failed.Add(1)
						failures.Store(s, true)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
		time.Sleep(2 * time.Second)
		rotate := exec.Command(c.bin, "signing-keys", "rotate")
		rotate.Env = append(slices.Clone(c.env), "KEYWARD_DATA_DIR="+t.TempDir())
		out, err := rotate.CombinedOutput()
		if err != nil {
			close(stop)
			t.Fatalf("keyward signing-keys rotate: %v\n%s", err, out)
		}
		var kid, from string
		if _, err := fmt.Sscanf(string(out), "next signing key %s published now, signs from %s", &kid, &from); err != nil {
			close(stop)
			t.Fatalf("rotate said %q", out)
		}
		kid = strings.TrimSuffix(kid, ":")
		signsFrom, _ := time.Parse(time.RFC3339, from)
		time.Sleep(time.Until(signsFrom) + 15*time.Second) // through the switch and Keycloak's refetch
		close(stop)
		wg.Wait()
		if failed.Load() != 0 || ok.Load() == 0 {
			var codes []any
			failures.Range(func(k, _ any) bool { codes = append(codes, k); return true })
			t.Fatalf("during the rotation: %d exchanges failed (statuses %v), %d succeeded", failed.Load(), codes, ok.Load())
		}
		list := exec.Command(c.bin, "signing-keys", "list")
		list.Env = rotate.Env
		out, err = list.CombinedOutput()
		if err != nil || !listsCurrent(out, kid) {
			t.Fatalf("signing-keys list after the switch (want %s current): %v\n%s", kid, err, out)
		}
		var jwks struct{ Keys []struct{ Kid string } }
		got := call(t, "GET", cc.url()+"/.well-known/jwks.json", nil)
		_ = json.Unmarshal([]byte(got.raw), &jwks)
		if len(jwks.Keys) != 2 {
			t.Fatalf("JWKS after the switch: %s, want the new and the previous key", got.raw)
		}
		t.Logf("rotation under load: %d exchanges, none failed; Keycloak fetched the JWKS %d times meanwhile",
			ok.Load(), c.jwks.Load()-before)
	})

	t.Run("OneKilledUnderLoad_OthersAnswer_RestartedRejoinsCurrent", func(t *testing.T) {
		_, key := createKeyAt(t, a, token, `{"name":"kill","rate_limit":{"requests":6000,"window_seconds":60}}`)
		revokedID, revokedKey := createKeyAt(t, a, token, `{"name":"kill-revoked"}`)
		if s := exchangeAt(b, revokedKey); s != 200 {
			t.Fatalf("B before: %d", s)
		}
		stop := make(chan struct{})
		var mu sync.Mutex
		byReplica := map[string]map[int]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					r := c.replicas[(w+i)%3]
					s := exchangeAt(r, key)
					mu.Lock()
					if byReplica[r.name] == nil {
						byReplica[r.name] = map[int]int{}
					}
					byReplica[r.name][s]++
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		time.Sleep(time.Second)
		c.kill(b)
		// While B is down: a key revoked and one created through A.
		if got := apiCall(t, "DELETE", a.url()+"/v1/keys/"+revokedID, token, ""); got.status/100 != 2 {
			t.Fatalf("revoke at A: %d", got.status)
		}
		_, newKey := createKeyAt(t, a, token, `{"name":"kill-new"}`)
		time.Sleep(2 * time.Second)
		close(stop)
		wg.Wait()
		for _, r := range []*replica{a, cc} {
			for s, n := range byReplica[r.name] {
				if s != 200 {
					t.Errorf("replica %s answered %d × %d while B was killed", r.name, n, s)
				}
			}
		}
		if byReplica["B"][0] == 0 {
			t.Fatalf("B was never seen down: %v", byReplica["B"])
		}
		c.start(t, b)
		if s := exchangeAt(b, revokedKey); s != 401 {
			t.Fatalf("restarted B: the key revoked while it was down answers %d, want 401", s)
		}
		if s := exchangeAt(b, newKey); s != 200 {
			t.Fatalf("restarted B: the key created while it was down answers %d, want 200", s)
		}
		t.Logf("killed B under load: statuses by replica %v", byReplica)
	})
}

// listsCurrent tells whether `signing-keys list` marks kid current.
func listsCurrent(out []byte, kid string) bool {
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, kid) && strings.HasSuffix(strings.TrimSpace(line), "current") {
			return true
		}
	}
	return false
}
