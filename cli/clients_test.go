package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// newClient provisions client orders for consumer shop and returns its secret.
func (f *tf) newClient(t *testing.T) string {
	t.Helper()
	f.newConsumer(t, "shop", "analytics")
	return strings.TrimSuffix(f.must(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "shop", "--client-id", "orders"), "\n")
}

func TestClientsCreate(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.newConsumer(t, "shop", "analytics")
	code, out, errOut := f.run(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "shop", "--client-id", "orders")
	secret := strings.TrimSuffix(out, "\n")
	if code != 0 || secret == "" || strings.ContainsAny(secret, " \n") {
		t.Fatalf("clients create: %d stdout %q", code, out)
	}
	noSecretIn(t, "clients create's stderr", errOut, secret)
	if !strings.Contains(errOut, "Created client orders for consumer shop (ACL groups analytics)") || !strings.Contains(errOut, "shown this once") {
		t.Fatalf("clients create's stderr: %q", errOut)
	}
	c := jsonOf[map[string]any](t, f.must(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "shop", "--client-id", "orders2", "-o", "json"))
	if c["client_id"] != "orders2" || c["secret"] == "" {
		t.Fatalf("-o json: %v", c)
	}
	if code, _, errOut := f.run(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "nope"); code != ExitError || !strings.Contains(errOut, `no consumer named or with id "nope"`) {
		t.Fatalf("unknown consumer: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "shop", "--client-id", "orders"); code == 0 || !strings.Contains(errOut, "orders") {
		t.Fatalf("taken client_id: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, out, errOut := user.run(t, NewCmdClientsCreate(user.Factory, nil), "--consumer", "shop"); code != ExitRefused || out != "" ||
		!strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}

func TestClientsList(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	secret := f.newClient(t)
	for _, args := range [][]string{{"--consumer", "shop"}, {"-o", "json"}, {"--enabled", "true"}} {
		out := f.must(t, NewCmdClientsList(f.Factory, nil), args...)
		noSecretIn(t, "clients list", out, secret)
		if !strings.Contains(out, "orders") {
			t.Fatalf("%v: %q", args, out)
		}
	}
	if out := f.must(t, NewCmdClientsList(f.Factory, nil), "--enabled", "false"); strings.Contains(out, "orders") {
		t.Fatalf("--enabled false: %q", out)
	}
	if code, _, errOut := f.run(t, NewCmdClientsList(f.Factory, nil), "--enabled", "maybe"); code != ExitUsage || !strings.Contains(errOut, "--enabled: give true or false") {
		t.Fatalf("--enabled maybe: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, out, errOut := user.run(t, NewCmdClientsList(user.Factory, nil)); code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}

func TestClientsShow(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	secret := f.newClient(t)
	out := f.must(t, NewCmdClientsShow(f.Factory, nil), "orders", "-o", "json")
	noSecretIn(t, "clients show", out, secret)
	c := jsonOf[map[string]any](t, out)
	if out := f.must(t, NewCmdClientsShow(f.Factory, nil), c["id"].(string)); !strings.Contains(out, "CLIENT ID") || !strings.Contains(out, "orders") {
		t.Fatalf("show by id: %q", out)
	}
	if code, _, errOut := f.run(t, NewCmdClientsShow(f.Factory, nil), "nope"); code != ExitError || !strings.Contains(errOut, `no client with client_id or id "nope"`) {
		t.Fatalf("show nope: %d %q", code, errOut)
	}
}

func TestClientsUpdate(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newClient(t)
	c := jsonOf[map[string]any](t, f.must(t, NewCmdClientsUpdate(f.Factory, nil), "orders", "--description", "orders service",
		"--redirect-uri", "https://app.example.com/cb", "-o", "json"))
	if c["description"] != "orders service" || len(strs(c["redirect_uris"])) != 1 {
		t.Fatalf("update: %v", c)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"orders"}, "nothing to change"},
		{[]string{"orders", "--redirect-uri", "https://evil.example.net/cb"}, "--redirect-uri"},
		{[]string{"orders", "--redirect-uri", "https://app.example.com/cb", "--no-redirect-uris"}, "none of the others"},
	} {
		if code, _, errOut := f.run(t, NewCmdClientsUpdate(f.Factory, nil), c.args...); code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
}

func TestClientsEnableDisable(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	secret := f.newClient(t)
	out := f.must(t, NewCmdClientsEnable(f.Factory, false, nil), "orders")
	if !strings.Contains(out, "orders") || !strings.Contains(out, "no") {
		t.Fatalf("disable: %q", out)
	}
	// disabled: Keycloak refuses the client tokens.
	f.Stdin = strings.NewReader(secret)
	if code, _, _ := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders"); code != ExitRefused {
		t.Fatalf("disabled client: %d", code)
	}
	if c := jsonOf[map[string]any](t, f.must(t, NewCmdClientsEnable(f.Factory, true, nil), "orders", "-o", "json")); c["enabled"] != true {
		t.Fatalf("enable: %v", c)
	}
}

func TestClientsDelete(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.newClient(t)
	user := asOther(t, srv)
	if code, _, errOut := user.run(t, NewCmdClientsDelete(user.Factory, nil), "orders"); code != ExitRefused || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
	code, out, errOut := f.run(t, NewCmdClientsDelete(f.Factory, nil), "orders")
	if code != 0 || out != "" || !strings.Contains(errOut, "Deleted client orders.") {
		t.Fatalf("delete: %d %q %q", code, out, errOut)
	}
	if code, _, _ := f.run(t, NewCmdClientsShow(f.Factory, nil), "orders"); code != ExitError {
		t.Fatalf("show after delete: %d", code)
	}
}

// secret show prints the secret alone; regenerate kills the old one at once.
func TestClientsSecret(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	secret := f.newClient(t)
	if out := f.must(t, NewCmdClientsSecret(f.Factory, false, nil), "orders"); out != secret+"\n" {
		t.Fatal("secret show does not print the secret alone")
	}
	file := filepath.Join(t.TempDir(), "orders.secret")
	code, out, errOut := f.run(t, NewCmdClientsSecret(f.Factory, true, nil), "orders", "--out-file", file)
	b, _ := os.ReadFile(file)
	next := strings.TrimSpace(string(b))
	if code != 0 || out != "" || next == "" || next == secret || mode(t, file) != 0o600 || !strings.Contains(errOut, "the old one no longer works") {
		t.Fatalf("regenerate to a file: %d stdout %q, mode %o, %q", code, out, mode(t, file), errOut)
	}
	f.Stdin = strings.NewReader(secret)
	if code, _, _ := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders"); code != ExitRefused {
		t.Fatalf("old secret after regenerate: %d", code)
	}
	if code, _, _ := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders", "--secret-file", file); code != 0 {
		t.Fatalf("new secret: %d", code)
	}
	user := asOther(t, srv)
	code, out, errOut = user.run(t, NewCmdClientsSecret(user.Factory, false, nil), "orders")
	if code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
	noSecretIn(t, "bob", errOut, next)
}

// test reads the secret from stdin or a file, never a flag.
func TestClientsTest(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	secret := f.newClient(t)
	f.Stdin = strings.NewReader(secret + "\n")
	code, out, errOut := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders")
	if code != 0 || !strings.Contains(out, "valid") || !strings.Contains(out, "yes") || !strings.Contains(out, "analytics") {
		t.Fatalf("clients test: %d %q %q", code, out, errOut)
	}
	noSecretIn(t, "clients test", out+errOut, secret)
	f.Stdin = strings.NewReader(secret)
	res := jsonOf[map[string]any](t, f.must(t, NewCmdClientsTest(f.Factory, nil), "orders", "-o", "json"))
	if res["valid"] != true || res["acl_claim_present"] != true {
		t.Fatalf("clients test -o json: %v", res)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.secret")
	if err := os.WriteFile(wrong, []byte("not-the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = f.run(t, NewCmdClientsTest(f.Factory, nil), "orders", "--secret-file", wrong)
	if code != ExitRefused || !strings.Contains(errOut, "refused the secret") {
		t.Fatalf("wrong secret: %d %q", code, errOut)
	}
	oneErrorLine(t, "wrong secret", errOut)
	f.Stdin = strings.NewReader("")
	if code, _, errOut := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders"); code != ExitUsage || !strings.Contains(errOut, "stdin") {
		t.Fatalf("no secret: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders", "--secret", "x"); code != ExitUsage || !strings.Contains(errOut, "unknown flag") {
		t.Fatalf("--secret: %d %q", code, errOut)
	}
}
