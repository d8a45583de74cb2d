package cli

// The per-command tests' harness: the real API in process (internal/apitest: the
// handlers over the real services and an SQLite store, Keycloak faked), and a Factory
// whose login is a Manager with a fixed bearer token.

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/apitest"
)

// tf is a test Factory: the API at srv, logged in with token as username.
type tf struct {
	*Factory
	srv            *apitest.Server
	stdout, stderr *bytes.Buffer
	env            map[string]string // what Getenv reads
}

func newTF(t *testing.T, srv *apitest.Server, token, username string) *tf {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"KEYWARD_URL": srv.URL}
	f := NewFactory(func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut, false)
	f.loginAs = func(context.Context) (*loggedIn, error) {
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})
		m, err := client.NewManager(client.ManagerConfig{URL: srv.URL, AllowInsecureHTTP: true, TokenSource: ts})
		if err != nil {
			return nil, err
		}
		return &loggedIn{keywardURL: srv.URL, manager: m, username: username, source: ts}, nil
	}
	return &tf{Factory: f, srv: srv, stdout: &out, stderr: &errOut, env: env}
}

// exchange runs keyward token with key and returns its exit code.
func (f *tf) exchange(t *testing.T, key string) int {
	t.Helper()
	code, _, _ := f.token(t, key)
	return code
}

// token runs keyward token with key in KEYWARD_API_KEY.
func (f *tf) token(t *testing.T, key string) (code int, stdout, stderr string) {
	t.Helper()
	f.env["KEYWARD_API_KEY"] = key
	defer delete(f.env, "KEYWARD_API_KEY")
	return f.run(t, NewCmdToken(f.Factory, nil))
}

// asUser, asOther and asAdmin are alice, bob and carol (keyward-admin) on srv.
func asUser(t *testing.T, srv *apitest.Server) *tf  { return newTF(t, srv, apitest.UserToken, "alice") }
func asOther(t *testing.T, srv *apitest.Server) *tf { return newTF(t, srv, apitest.OtherToken, "bob") }
func asAdmin(t *testing.T, srv *apitest.Server) *tf {
	return newTF(t, srv, apitest.AdminToken, "carol")
}

// run runs cmd with args as Run would (silenced, cobra's output into the buffers) and
// returns its exit code (0 when it succeeded) with what it printed, the buffers emptied.
func (f *tf) run(t *testing.T, cmd *cobra.Command, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(f.stdout)
	cmd.SetErr(f.stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		code = exitCode(err)
		f.stderr.WriteString("keyward: " + oneLine(err.Error()) + "\n")
	}
	stdout, stderr = f.stdout.String(), f.stderr.String()
	f.stdout.Reset()
	f.stderr.Reset()
	return code, stdout, stderr
}

// must runs cmd and fails the test unless it succeeds; it returns stdout.
func (f *tf) must(t *testing.T, cmd *cobra.Command, args ...string) string {
	t.Helper()
	code, out, errOut := f.run(t, cmd, args...)
	if code != 0 {
		t.Fatalf("%s %v: exit %d, %q", cmd.Name(), args, code, errOut)
	}
	return out
}

// createKey creates a key through the command and returns it.
func (f *tf) createKey(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSuffix(f.must(t, NewCmdKeysCreate(f.Factory, nil), args...), "\n")
}

// jsonOf decodes out into v or fails.
func jsonOf[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, out)
	}
	return v
}

// oneErrorLine: a failure is said in one line on stderr.
func oneErrorLine(t *testing.T, what, stderr string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "keyward: ") {
		t.Fatalf("%s: not one line: %q", what, stderr)
	}
}
