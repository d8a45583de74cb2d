package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
