package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
