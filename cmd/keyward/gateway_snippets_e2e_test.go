package main

// The console's "Use it at the gateway" snippets, run as an analyst copies them off the
// key page (console.GatewaySnippets is what the page shows): curl, and Python with the
// pinned requests and pandas, through Debian's nginx running deploy/gateway/nginx.conf
// in front of an API that serves a small CSV. Excel and Power BI are not on this
// machine: their M code is checked by sending what Power Query sends for it.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/console"
	"github.com/keyward/keyward/internal/gatewaytest"
	"github.com/keyward/keyward/internal/kctest"
)

const snippetCSV = "region,orders\nnorth,12\nsouth,7\neast,30\n"

// csvAPI is an API behind the gateway: it serves snippetCSV and records each request.
type csvAPI struct {
	addr string
	mu   sync.Mutex
	reqs []gatewaytest.Recorded
}

func newCSVAPI(t *testing.T) *csvAPI {
	a := &csvAPI{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.reqs = append(a.reqs, gatewaytest.Recorded{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body)})
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_, _ = io.WriteString(w, snippetCSV)
	}))
	t.Cleanup(srv.Close)
	a.addr = srv.Listener.Addr().String()
	return a
}

func (a *csvAPI) requests(path string) []gatewaytest.Recorded {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []gatewaytest.Recorded
	for _, r := range a.reqs {
		if r.URL == path {
			out = append(out, r)
		}
	}
	return out
}

// snippetsPython is a python with the pinned packages the snippets import, installed
// once and cached by scripts/deploy-tools.sh.
func snippetsPython(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("bash", "scripts/deploy-tools.sh", "snippets-python")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/deploy-tools.sh snippets-python: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// runSnippet runs code as a user would paste it, with the key (if any) in
// KEYWARD_API_KEY and no proxy between it and the gateway.
func runSnippet(t *testing.T, python, lang, code, key string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hung snippet fails, not the suite
	defer cancel()
	var cmd *exec.Cmd
	switch lang {
	case "python":
		cmd = exec.CommandContext(ctx, python, "-c", code)
	case "shell":
		cmd = exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", code)
	default:
		t.Fatalf("no way to run a %s snippet", lang)
	}
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		name := strings.ToUpper(strings.SplitN(kv, "=", 2)[0])
		if name == "KEYWARD_API_KEY" || strings.HasSuffix(name, "_PROXY") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	if key != "" {
		cmd.Env = append(cmd.Env, "KEYWARD_API_KEY="+key)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestGatewaySnippets_RunThroughNginx(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_TRUSTED_PROXIES": "127.0.0.1"})
	api := newCSVAPI(t)
	g := gatewaytest.Nginx(t, strings.TrimPrefix(app.url, "http://"), api.addr)
	python := snippetsPython(t)
	_, key := app.createKey(t, kc.Login(t, "alice"), kctest.Unique("snippets"))
	owner := kc.UserID(t, "alice")
	last := "a"
	if strings.HasSuffix(key, "a") {
		last = "b"
	}
	wrongKey := key[:len(key)-1] + last

	// What each snippet prints when the CSV arrives.
	printed := map[string]string{
		"gateway-curl":     snippetCSV + snippetCSV, // the -u form, then the header form
		"gateway-requests": snippetCSV + "\n",
		"gateway-pandas":   "(3, 2)\n", // three rows, two columns: the DataFrame's shape
	}
	ran := 0
	for _, s := range console.GatewaySnippets() {
		t.Run(s.ID, func(t *testing.T) {
			d := &gatewayDoor{t: t, app: app}
			path := "/" + kctest.Unique(s.ID) + "/data.csv"
			url := g.URL + path
			if s.Lang == "powerquery" {
				powerQuery(t, d, s, g.URL, path, api, key, owner)
				return
			}
			code := strings.ReplaceAll(s.Code, console.GatewayExampleURL, url)
			if code == s.Code {
				t.Fatal("the snippet does not call the placeholder URL")
			}
			want, ok := printed[s.ID]
			if !ok {
				t.Fatalf("a new %s snippet: say here what it prints", s.Lang)
			}
			ran++
			out, err := runSnippet(t, python, s.Lang, code, key)
			if err != nil || out != want {
				t.Fatalf("the snippet failed (%v) or printed\n%s\nwant\n%s", err, out, want)
			}
			reqs := api.requests(path)
			if n := strings.Count(code, url); len(reqs) != n {
				t.Fatalf("the API got %d requests, the snippet makes %d", len(reqs), n)
			}
			for _, r := range reqs {
				if r.Method != http.MethodGet {
					t.Fatalf("the API got %s", r.Method)
				}
				d.keyAbsent(r, key, nil)
				d.ownersToken(r, owner)
			}

			// Another key, or none: the snippet fails and the API is never reached.
			for name, k := range map[string]string{"wrong key": wrongKey, "no key": ""} {
				refusedPath := "/" + kctest.Unique(s.ID+"-refused") + "/data.csv"
				out, err := runSnippet(t, python, s.Lang, strings.ReplaceAll(s.Code, console.GatewayExampleURL, g.URL+refusedPath), k)
				if err == nil {
					t.Fatalf("%s: the snippet succeeded:\n%s", name, out)
				}
				if strings.Contains(out, "region,orders") || len(api.requests(refusedPath)) != 0 {
					t.Fatalf("%s: the API was reached", name)
				}
			}
		})
	}
	if ran != len(printed) {
		t.Fatalf("%d snippets ran, %d expected", ran, len(printed))
	}
}

// powerQuery sends what Power Query sends for an M snippet: the header form at once;
// the Basic form first without a credential (the 401's Basic challenge is what makes
// Excel and Power BI ask for one), then with the key as the password.
func powerQuery(t *testing.T, d *gatewayDoor, s console.GatewaySnippet, gateway, path string, api *csvAPI, key, owner string) {
	url := gateway + path
	var got gatewayAnswer
	switch {
	case strings.Contains(s.Code, `[Headers = [#"X-API-Key" = Key]]`):
		got = sendVia(t, http.DefaultClient, "GET", url, "", "X-API-Key", key)
	case strings.Contains(s.Code, "Web.Contents(Url)"):
		first := sendVia(t, http.DefaultClient, "GET", url, "")
		if first.status != http.StatusUnauthorized || !basicChallenge(first.header) || len(api.requests(path)) != 0 {
			t.Fatalf("without a credential: %d, challenge %q", first.status, first.header.Values("WWW-Authenticate"))
		}
		got = sendVia(t, http.DefaultClient, "GET", url, "", "Authorization", basicAuth("key", key))
	default:
		t.Fatal("an M snippet this test does not know how Power Query sends")
	}
	if got.status != http.StatusOK || got.body != snippetCSV {
		t.Fatalf("%d %q", got.status, got.body)
	}
	reqs := api.requests(path)
	if len(reqs) != 1 {
		t.Fatalf("the API got %d requests", len(reqs))
	}
	d.keyAbsent(reqs[0], key, nil)
	d.ownersToken(reqs[0], owner)
}
