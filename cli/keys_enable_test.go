package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// A disabled key is refused at the exchange until it is enabled again.
func TestKeysEnableDisable(t *testing.T) {
	f := asUser(t, apitest.New(t))
	key := f.createKey(t, "--name", "ci")
	code, out, errOut := f.run(t, NewCmdKeysEnable(f.Factory, false, nil), "ci")
	if code != 0 || out != "" || !strings.Contains(errOut, "Disabled key ci (") || !strings.Contains(errOut, "inactive") {
		t.Fatalf("disable: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := f.token(t, key); code != ExitRefused || out != "" {
		t.Fatalf("disabled key: %d", code)
	} else {
		noSecretIn(t, "refused token", errOut, key)
	}
	k := jsonOf[map[string]any](t, f.must(t, NewCmdKeysEnable(f.Factory, true, nil), "ci", "-o", "json"))
	if k["status"] != "active" {
		t.Fatalf("enable -o json: %v", k)
	}
	if code := f.exchange(t, key); code != 0 {
		t.Fatalf("enabled again: %d", code)
	}
	if code, _, errOut := f.run(t, NewCmdKeysEnable(f.Factory, true, nil), "ci", "-o", "table", "--days", "3"); code != ExitUsage ||
		!strings.Contains(errOut, "unknown flag: --days") {
		t.Fatalf("bad flag: %d %q", code, errOut)
	}
}
