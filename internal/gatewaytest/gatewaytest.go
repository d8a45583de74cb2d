// Package gatewaytest runs the gateway recipes of deploy/gateway — Debian's nginx and
// caddy, as child processes with their own temporary directories on free loopback ports —
// and an upstream that records what reaches it, for the tests of Keyward's door.
// Without the binaries the tests are skipped, or fail under make test (.ci/run
// installs both).
package gatewaytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/recipe"
	"github.com/keyward/keyward/internal/testkit"
)

// RecipeDir is deploy/gateway, where the recipes the tests run live.
func RecipeDir() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "deploy", "gateway")
}

// Recorded is a request as the upstream received it.
type Recorded struct {
	Method string
	URL    string // path and query
	Header http.Header
	Body   string
}

// Upstream is an API behind the gateway: it answers 200 "upstream" to everything and
// records each request.
type Upstream struct {
	URL  string // http://127.0.0.1:port
	Addr string // 127.0.0.1:port
	mu   sync.Mutex
	reqs []Recorded
}

// NewUpstream starts an Upstream, closed when the test ends.
func NewUpstream(t testing.TB) *Upstream {
	u := &Upstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, Recorded{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body)})
		u.mu.Unlock()
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(srv.Close)
	u.URL, u.Addr = srv.URL, srv.Listener.Addr().String()
	return u
}

// Requests returns the requests received so far whose path starts with prefix.
func (u *Upstream) Requests(prefix string) []Recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []Recorded
	for _, r := range u.reqs {
		if strings.HasPrefix(r.URL, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// binary finds name on PATH or in /usr/sbin (nginx's place on Debian, off a user's
// PATH), or skips the test (fails it under make test).
func binary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; isExecutable(p) {
		return p
	}
	if os.Getenv(testkit.EnvRequireIntegration) == "1" {
		t.Fatalf("gateway tests required (%s=1) but %s is not installed: .ci/run installs Debian's %s", testkit.EnvRequireIntegration, name, name)
	}
	t.Skipf("gateway tests skipped: %s is not installed (apt-get install %s)", name, name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// FreeAddr returns a loopback address with a port free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Fill replaces the ${NAME} placeholders of a recipe (recipe.Fill: every placeholder
// must have a value and every value a placeholder).
func Fill(t testing.TB, name string, values map[string]string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(RecipeDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := recipe.Fill(string(src), values)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// Gateway is a running gateway.
type Gateway struct {
	URL  string // http://127.0.0.1:port
	Addr string
}

// Nginx runs deploy/gateway/nginx.conf, placeholders filled, in front of upstreamAddr
// with Keyward at keywardAddr (host:port each).
func Nginx(t testing.TB, keywardAddr, upstreamAddr string) *Gateway {
	t.Helper()
	bin := binary(t, "nginx")
	dir := t.TempDir()
	addr := FreeAddr(t)
	server := Fill(t, "nginx.conf", map[string]string{"LISTEN": addr, "KEYWARD_ADDR": keywardAddr, "UPSTREAM_ADDR": upstreamAddr})
	write(t, filepath.Join(dir, "keyward.conf"), server)
	user := ""
	if os.Geteuid() == 0 { // workers would run as nobody, who cannot write the temp dirs
		user = "user root;"
	}
	// The main configuration the recipe is included in, all paths in dir: nothing of the
	// machine's nginx is read or written.
	write(t, filepath.Join(dir, "nginx.conf"), fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/keyward.conf;
}
`, user, dir))
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	return start(t, "nginx", cmd, addr, func() string { return readFile(filepath.Join(dir, "error.log")) })
}

// Caddy runs deploy/gateway/Caddyfile as it is (Caddy fills its {$NAME} placeholders
// from the environment) in front of upstreamURL with Keyward at keywardURL; its admin
// endpoint is off.
func Caddy(t testing.TB, keywardURL, upstreamURL string) *Gateway {
	t.Helper()
	bin := binary(t, "caddy")
	dir := t.TempDir()
	addr := FreeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", filepath.Join(RecipeDir(), "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"SITE_ADDRESS=http://"+addr, "KEYWARD_URL="+keywardURL, "UPSTREAM_URL="+upstreamURL, "CADDY_ADMIN=off",
		// Caddy's storage and autosaved configuration, away from the user's.
		"HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	w := &syncWriter{w: &logs}
	cmd.Stdout, cmd.Stderr = w, w
	return start(t, "caddy", cmd, addr, w.String)
}

// start runs cmd and waits until the gateway answers on addr (any HTTP answer: the
// door refuses a request without a key), or fails with the gateway's log.
func start(t testing.TB, name string, cmd *exec.Cmd, addr string, logs func() string) *Gateway {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	g := &Gateway{URL: "http://" + addr, Addr: addr}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("%s exited before answering: %v\n%s", name, err, logs())
		default:
		}
		resp, err := client.Get(g.URL + "/.ready")
		if err == nil {
			resp.Body.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer on %s within 15 s: %v\n%s", name, addr, err, logs())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err.Error()
	}
	return string(b)
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
