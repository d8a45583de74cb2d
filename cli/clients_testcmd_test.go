package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
