package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
