package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
