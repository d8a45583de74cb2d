package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestToken(t *testing.T) {
	srv := apitest.New(t)
	f := asUser(t, srv)
	key := f.createKey(t, "--name", "ci")
	f.env["KEYWARD_API_KEY"] = key
	code, out, errOut := f.run(t, NewCmdToken(f.Factory, nil))
	tok := strings.TrimSpace(out)
	if code != 0 || strings.Count(tok, ".") != 2 || errOut != "" || jwtClaims(tok)["sub"] != "alice-id" {
		t.Fatalf("token: %d %q %q", code, out, errOut)
	}
	var asJSON map[string]any
	if out := f.must(t, NewCmdToken(f.Factory, nil), "-o", "json"); json.Unmarshal([]byte(out), &asJSON) != nil ||
		asJSON["access_token"] == "" || asJSON["token_type"] != "Bearer" {
		t.Fatalf("-o json: %q", out)
	}
	checkExecCredential(t, f.must(t, NewCmdToken(f.Factory, nil), "--kubectl"))
	// From a file, the environment empty of keys.
	delete(f.env, "KEYWARD_API_KEY")
	keyFile := filepath.Join(t.TempDir(), "ci.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := f.must(t, NewCmdToken(f.Factory, nil), "--key-file", keyFile); strings.Count(out, ".") != 2 {
		t.Fatalf("--key-file: %q", out)
	}
	// Revoked: the refused exit code, one line, no key in it.
	f.must(t, NewCmdKeysRevoke(f.Factory, nil), "ci")
	f.env["KEYWARD_API_KEY"] = key
	code, out, errOut = f.run(t, NewCmdToken(f.Factory, nil))
	if code != ExitRefused || out != "" || !strings.Contains(errOut, "the API key was refused") {
		t.Fatalf("revoked key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	oneErrorLine(t, "revoked key", errOut)
	noSecretIn(t, "revoked key", errOut, key)
}

func TestToken_RateLimited(t *testing.T) {
	f := asUser(t, apitest.New(t))
	f.env["KEYWARD_API_KEY"] = f.createKey(t, "--name", "slow", "--rate-limit", "1/1h")
	f.must(t, NewCmdToken(f.Factory, nil))
	code, out, errOut := f.run(t, NewCmdToken(f.Factory, nil))
	if code != ExitRateLimited || out != "" || !regexp.MustCompile(`rate limited: try again in \d+(h|m)`).MatchString(errOut) {
		t.Fatalf("second token: %d %q", code, errOut)
	}
	oneErrorLine(t, "rate limited", errOut)
}

func TestToken_Usage(t *testing.T) {
	f := asUser(t, apitest.New(t))
	for _, c := range []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"}, nil, ExitUsage, "KEYWARD_API_KEY"},
		{map[string]string{"KEYWARD_API_KEY": "kw_live_x"}, nil, ExitUsage, "KEYWARD_URL"},
		{map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "KEYWARD_API_KEY": "kw_live_x"}, []string{"-o", "yaml"}, ExitUsage, `-o "yaml": use text or json`},
		{map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "KEYWARD_API_KEY": "kw_live_x"}, []string{"--kubectl", "-o", "json"}, ExitUsage, "give it without -o"},
		{map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "KEYWARD_API_KEY": "kw_live_x"}, []string{"--key", "x"}, ExitUsage, "unknown flag"},
		// Nothing listens: unavailable.
		{map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "KEYWARD_API_KEY": "kw_live_x"}, nil, ExitUnavailable, "cannot be reached"},
	} {
		f.Getenv = func(k string) string { return c.env[k] }
		if code, _, errOut := f.run(t, NewCmdToken(f.Factory, nil), c.args...); code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v %v: %d %q", c.env, c.args, code, errOut)
		}
	}
}

// checkExecCredential holds --kubectl output against the published schema of
// client.authentication.k8s.io/v1 ExecCredential: apiVersion, kind, status {expirationTimestamp, token}.
func checkExecCredential(t *testing.T, out string) {
	t.Helper()
	var ec map[string]any
	if err := json.Unmarshal([]byte(out), &ec); err != nil {
		t.Fatalf("--kubectl: %v %q", err, out)
	}
	st, _ := ec["status"].(map[string]any)
	if ec["apiVersion"] != "client.authentication.k8s.io/v1" || ec["kind"] != "ExecCredential" || st == nil ||
		strings.Count(st["token"].(string), ".") != 2 || st["expirationTimestamp"] == "" {
		t.Fatalf("--kubectl: %q", out)
	}
}
