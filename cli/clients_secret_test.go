package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
