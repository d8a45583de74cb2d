package main

// The command line on the real Keyward and Keycloak: keyward token and keyward exec,
// their exit codes, and that no key ever reaches output or a child's environment.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/cli"
	"github.com/keyward/keyward/internal/kctest"
)

// keywardCLI runs the command line in process as the binary does (main.runCLI).
func keywardCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runCLI(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestCLI_TokenAndExec_OnTheRealStack(t *testing.T) {
	kc := kctest.Require(t)
	app := startApp(t, kc, "")
	id, key := app.createKey(t, kc.Login(t, "alice"), "cli")
	env := map[string]string{"KEYWARD_URL": app.url, "KEYWARD_API_KEY": key}

	code, out, errOut := keywardCLI(t, env, "token")
	tok := strings.TrimSpace(out)
	if code != 0 || strings.Count(tok, ".") != 2 || errOut != "" {
		t.Fatalf("token: %d %q %q", code, out, errOut)
	}
	remember(tok)
	if claims := kctest.Claims(t, tok); claims["iss"] != kc.Issuer() || claims["sub"] != kc.UserID(t, "alice") {
		t.Fatalf("not Keycloak's token for alice: iss %v sub %v", claims["iss"], claims["sub"])
	}
	code, out, _ = keywardCLI(t, env, "token", "-o", "json")
	var asJSON map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &asJSON) != nil || asJSON["access_token"] == "" || asJSON["token_type"] != "Bearer" {
		t.Fatalf("-o json: %d %q", code, out)
	}
	// From a file, the environment empty of keys.
	keyFile := filepath.Join(t.TempDir(), "ci.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := keywardCLI(t, map[string]string{"KEYWARD_URL": app.url}, "token", "--key-file", keyFile); code != 0 || strings.Count(out, ".") != 2 {
		t.Fatalf("--key-file: %d", code)
	}

	// exec: the child gets the token, not the key, and its exit status passes through.
	t.Setenv("KEYWARD_API_KEY", key) // the parent's environment, as a shell would hand it down
	code, out, _ = keywardCLI(t, env, "exec", "--", "sh", "-c", `printf '%s|%s' "${KEYWARD_ACCESS_TOKEN%%.*}" "${KEYWARD_API_KEY:-none}"; exit 7`)
	parts := strings.SplitN(out, "|", 2)
	if code != 7 || len(parts) != 2 || parts[0] == "" || !strings.HasPrefix(tok, parts[0]) || parts[1] != "none" {
		t.Fatalf("exec: exit %d, child saw %q", code, out)
	}

	// Revoked: the refused exit code, one line, no key in it.
	if got := call(t, "DELETE", app.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+kc.Login(t, "alice")); got.status != http.StatusNoContent {
		t.Fatalf("revoke: %d", got.status)
	}
	code, out, errOut = keywardCLI(t, env, "token")
	if code != cli.ExitRefused || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || strings.Contains(errOut, key) {
		t.Fatalf("revoked key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Nothing listens: unavailable.
	if code, _, _ := keywardCLI(t, map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "KEYWARD_API_KEY": key}, "token"); code != cli.ExitUnavailable {
		t.Fatalf("unreachable Keyward: exit %d, want %d", code, cli.ExitUnavailable)
	}
}

// A binary built without -X main.version (go install, go build) names the version Go
// stamped from the module or the checkout, not "dev".
func TestCLI_Version_FromTheBuild(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		t.Fatalf("this test reads the checkout's commit: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "keyward")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(head)) // a pseudo-version names the commit…
	if tag, err := exec.Command("git", "describe", "--tags", "--exact-match").Output(); err == nil {
		want = strings.TrimSpace(string(tag)) // …a tagged one is the tag
	}
	if got := string(out); !strings.HasPrefix(got, "keyward version v") || !strings.Contains(got, want) {
		t.Fatalf("--version: %q, want the module version of %s", got, want)
	}
}
