package cli

// The command line's own rules, without the stack: help and completion for every
// command, the login file's name, flag parsing, and how the device flow's endings read
// (expired_token, which the real Keycloak takes 10 minutes to say, from a small fake).

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

// cli runs the command line in process, as main does, with env as the environment.
func cli(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := NewFactory(func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut, false)
	code = Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func TestCLI_VersionAndUsage(t *testing.T) {
	if code, out, _ := cli(t, nil, "--version"); code != 0 || !strings.Contains(out, "keyward version") {
		t.Fatalf("--version: %d %q", code, out)
	}
	if code, _, errOut := cli(t, nil, "no-such-command"); code != ExitUsage || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"}, "token"); code != ExitUsage ||
		!strings.Contains(errOut, "KEYWARD_API_KEY") {
		t.Fatalf("no key: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, map[string]string{"KEYWARD_API_KEY": "kw_live_x"}, "token"); code != ExitUsage ||
		!strings.Contains(errOut, "KEYWARD_URL") {
		t.Fatalf("no URL: %d %q", code, errOut)
	}
	// A key given as a flag value would stay in shell history and ps: there is no such flag.
	if code, _, _ := cli(t, nil, "token", "--key", "kw_live_x"); code != ExitUsage {
		t.Fatalf("--key accepted: %d", code)
	}
}

func TestCLI_EveryCommandHasHelpWithExamples(t *testing.T) {
	root := New(&Factory{Getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		count++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if count < 40 {
		t.Fatalf("only %d commands walked", count)
	}
	code, out, _ := cli(t, nil, "keys", "create", "--help")
	if code != 0 || !strings.Contains(out, "--expires-in") || !strings.Contains(out, "Examples:") {
		t.Fatalf("keys create --help: %d %q", code, out)
	}
}

func TestCLI_CompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := cli(t, nil, "completion", shell)
		if code != 0 || errOut != "" {
			t.Fatalf("completion %s: %d %q", shell, code, errOut)
		}
		if !strings.Contains(out, "keyward") || !strings.Contains(out, "__complete") || len(out) < 500 {
			t.Fatalf("completion %s: not a script for keyward (%d bytes)", shell, len(out))
		}
	}
	// The scripts ask the binary (cobra's __complete): the subcommands come from it.
	code, out, _ := cli(t, nil, "__complete", "")
	for _, sub := range []string{"login", "logout", "whoami", "keys", "token", "exec", "consumers", "clients", "acl-groups", "server"} {
		if code != 0 || !regexp.MustCompile(`(?m)^`+sub+`\t`).MatchString(out) {
			t.Fatalf("completion does not offer %s: %d %q", sub, code, out)
		}
	}
	code, out, _ = cli(t, nil, "__complete", "keys", "")
	for _, sub := range []string{"list", "create", "show", "update", "rotate", "disable", "enable", "revoke", "usage"} {
		if code != 0 || !regexp.MustCompile(`(?m)^`+sub+`\t`).MatchString(out) {
			t.Fatalf("completion of keys does not offer %s: %q", sub, out)
		}
	}
}

func TestCLI_LoginFileName_ReadableSafeAndPerURL(t *testing.T) {
	names := map[string]string{}
	for _, u := range []string{"http://127.0.0.1:8080", "https://127.0.0.1:8080", "https://keyward.example.com/a-b",
		"https://keyward.example.com/a/b", "https://keyward.example.com/../../etc/passwd", "https://k.example.com:8443/x y"} {
		n := sessionFileName(u)
		if !regexp.MustCompile(`^[A-Za-z0-9._-]+\.json$`).MatchString(n) || strings.Contains(n, "..") || filepath.Base(n) != n {
			t.Errorf("%s → unsafe name %q", u, n)
		}
		if prev, dup := names[n]; dup {
			t.Errorf("%s and %s share %s", prev, u, n)
		}
		names[n] = u
	}
	if n := sessionFileName("http://127.0.0.1:8080"); !strings.HasPrefix(n, "127.0.0.1_8080-") {
		t.Errorf("not readable: %s", n)
	}
	// The same deployment however it is typed.
	if sessionFileName("HTTP://Keyward.Example.com/") != sessionFileName("http://keyward.example.com") {
		t.Error("case or a trailing slash changes the file")
	}
}

func TestCLI_FlagValues(t *testing.T) {
	for in, want := range map[string]int{"90d": 90, "90": 90, "12w": 84, "1y": 365} {
		if got, err := parseDays(in); err != nil || got != want {
			t.Errorf("parseDays(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-3d", "3h", "x"} {
		if _, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) accepted", bad)
		}
	}
	if rl, err := parseRateLimit("100/1m"); err != nil || rl.Requests != 100 || rl.WindowSeconds != 60 {
		t.Errorf("100/1m → %+v, %v", rl, err)
	}
	if rl, err := parseRateLimit("unlimited"); err != nil || !rl.Unlimited {
		t.Errorf("unlimited → %+v, %v", rl, err)
	}
	for _, bad := range []string{"100", "0/1m", "10/500ms", "ten/1m", "10/"} {
		if _, err := parseRateLimit(bad); err == nil {
			t.Errorf("parseRateLimit(%q) accepted", bad)
		}
	}
	if d, err := parseHours("7d"); err != nil || d.Hours() != 168 {
		t.Errorf("7d → %v %v", d, err)
	}
	if _, err := parseHours("90m"); err == nil {
		t.Error("90m accepted as whole hours")
	}
	if bar(0, 10) != "" || bar(10, 10) != strings.Repeat("█", barWidth) || bar(1, 1000) == "" {
		t.Errorf("bars: %q %q %q", bar(0, 10), bar(10, 10), bar(1, 1000))
	}
	// Values that would land in shell history or ps have no flag.
	for _, args := range [][]string{{"token", "--key", "x"}, {"clients", "test", "c", "--secret", "x"}} {
		if code, _, errOut := cli(t, nil, args...); code != ExitUsage || !strings.Contains(errOut, "unknown flag") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
}

func TestCLI_NotLoggedIn(t *testing.T) {
	env := map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "HOME": t.TempDir()}
	for _, args := range [][]string{{"whoami"}, {"keys", "list"}, {"logout"}, {"consumers", "list"}} {
		code, out, errOut := cli(t, env, args...)
		if code != ExitNotLoggedIn || out != "" || errOut != "keyward: not logged in to http://127.0.0.1:1: run keyward login\n" {
			t.Errorf("%v: exit %d, %q %q", args, code, out, errOut)
		}
	}
	// A login file others can read is not used.
	path, err := sessionPath(func(k string) string { return env[k] }, env["KEYWARD_URL"])
	if err != nil {
		t.Fatal(err)
	}
	if err := saveSession(path, session{KeywardURL: env["KEYWARD_URL"], RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, env, "keys", "list"); code != ExitNotLoggedIn || !strings.Contains(errOut, "open to other users (mode 644)") {
		t.Errorf("world-readable login file: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, map[string]string{"HOME": t.TempDir()}, "keys", "list"); code != ExitUsage || !strings.Contains(errOut, "KEYWARD_URL") {
		t.Errorf("no KEYWARD_URL: %d %q", code, errOut)
	}
	code, _, errOut := cli(t, map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "HOME": t.TempDir()}, "login")
	if code != ExitUnavailable || strings.Count(errOut, "\n") != 1 {
		t.Errorf("login, nothing listening: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, map[string]string{"KEYWARD_URL": "http://keyward.example.com", "HOME": t.TempDir()}, "login"); code != ExitUsage ||
		!strings.Contains(errOut, "plain http") {
		t.Errorf("plain http to another machine: %d %q", code, errOut)
	}
}

func TestCLI_LoginFile_ModesWhateverWasThere(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keyward")
	if err := os.MkdirAll(dir, 0o755); err != nil { // made by something else, open to all
		t.Fatal(err)
	}
	path := filepath.Join(dir, sessionFileName("http://127.0.0.1:8080"))
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := saveSession(path, session{KeywardURL: "http://127.0.0.1:8080", RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if m := mode(t, p); m != want {
			t.Errorf("%s: mode %o, want %o", p, m, want)
		}
	}
	if s, err := loadSession(path, "http://127.0.0.1:8080/"); err != nil || s.RefreshToken != "rt" {
		t.Fatalf("load: %+v %v", s, err)
	}
	// Another deployment's file under this name is not this login.
	if _, err := loadSession(path, "https://127.0.0.1:8080"); err != errNotLoggedIn {
		t.Fatalf("another URL: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".session-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

// fakeKeyward answers every management call with status and a problem document whose
// detail is given; its token endpoint hands out a refresh of any refresh token.
func fakeKeyward(t *testing.T, status int, detail string, header map[string]string) map[string]string {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at-not-for-print","token_type":"Bearer","expires_in":300,"refresh_token":"rt-rotated"}`))
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"title": "t", "status": status, "detail": detail})
	})
	env := map[string]string{"KEYWARD_URL": srv.URL, "HOME": t.TempDir()}
	path, err := sessionPath(func(k string) string { return env[k] }, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := saveSession(path, session{KeywardURL: srv.URL, ClientID: "keyward-cli", TokenEndpoint: srv.URL + "/token",
		Username: "alice", RefreshToken: "rt-stored"}); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestCLI_RefusedCalls_OneSafeLineAndTheirCode(t *testing.T) {
	cases := []struct {
		status int
		header map[string]string
		code   int
		says   string
	}{
		{403, nil, ExitRefused, "keyward: refused: only admins ?[31mdo?this (HTTP 403)\n"},
		{429, map[string]string{"Retry-After": "90"}, ExitRateLimited, "keyward: rate limited: try again in 1m30s\n"},
		{503, nil, ExitUnavailable, "keyward: only admins ?[31mdo?this (HTTP 503): try again later\n"},
		{401, nil, ExitNotLoggedIn, "keyward: Keyward refused the login (only admins ?[31mdo?this (HTTP 401)): run keyward login\n"},
		{409, nil, ExitError, "keyward: only admins ?[31mdo?this (HTTP 409)\n"},
	}
	for _, tc := range cases {
		env := fakeKeyward(t, tc.status, "only admins \x1b[31mdo\nthis", tc.header)
		code, out, errOut := cli(t, env, "consumers", "list")
		if code != tc.code || out != "" || errOut != tc.says {
			t.Errorf("HTTP %d: exit %d, stdout %q, stderr %q", tc.status, code, out, errOut)
		}
		noSecretIn(t, "a refused call", errOut, "at-not-for-print", "rt-stored", "rt-rotated")
	}
}

func TestUsageChart_ByRoute_ShownWhenTheServerSplits(t *testing.T) {
	var u client.KeyUsage
	if err := json.Unmarshal([]byte(`{"key_id":"k","last_used_at":null,"last_used_ip":null,
		"month":{"success":5,"denied":{"ip_denied":1}},
		"period":{"success":5,"denied":{"ip_denied":1},"by_via":{
			"token":{"success":2,"denied":{}},"forward_auth":{"success":3,"denied":{"ip_denied":1}}}},
		"days":[{"date":"2026-11-23","success":5,"denied":{"ip_denied":1}}]}`), &u); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := usageChart(&out, client.Key{Key: api.Key{Name: "ci", Prefix: "kw_live_ab"}}, u); err != nil {
		t.Fatal(err)
	}
	if want := "by route over 1 days: token 2, 0 denied; forward_auth 3, 1 denied\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("chart lacks %q:\n%s", want, out.String())
	}
	u.Period.ByVia = nil // a server before routes were counted
	out.Reset()
	if err := usageChart(&out, client.Key{Key: api.Key{Name: "ci"}}, u); err != nil || strings.Contains(out.String(), "by route") {
		t.Fatalf("older server: %v\n%s", err, out.String())
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// noSecretIn fails when any of secrets appears in what a command printed.
func noSecretIn(t *testing.T, what, printed string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(printed, s) {
			t.Fatalf("%s printed a secret", what)
		}
	}
}
