package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestConsumersEnableDisable(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	secret := f.newClient(t) // consumer shop, client orders
	f.createKey(t, "--name", "orders", "--consumer", "shop")
	out := f.must(t, NewCmdConsumersEnable(f.Factory, false, nil), "shop")
	if !strings.Contains(out, "ENABLED") || !strings.Contains(out, "shop") || !strings.Contains(out, " no ") {
		t.Fatalf("disable: %q", out)
	}
	if c := jsonOf[map[string]any](t, f.must(t, NewCmdConsumersShow(f.Factory, nil), "shop", "-o", "json")); c["enabled"] != false {
		t.Fatalf("show after disable: %v", c)
	}
	// Its OAuth clients are refused too, each enabled again with the consumer.
	f.Stdin = strings.NewReader(secret)
	if code, _, _ := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders"); code != ExitRefused {
		t.Fatalf("a disabled consumer's client: %d", code)
	}
	if c := jsonOf[map[string]any](t, f.must(t, NewCmdConsumersEnable(f.Factory, true, nil), "shop", "-o", "json")); c["enabled"] != true {
		t.Fatalf("enable: %v", c)
	}
	f.Stdin = strings.NewReader(secret)
	if code, out, errOut := f.run(t, NewCmdClientsTest(f.Factory, nil), "orders"); code != 0 {
		t.Fatalf("the client, enabled again: %d %q %q", code, out, errOut)
	}
	if c := jsonOf[map[string]any](t, f.must(t, NewCmdConsumersUpdate(f.Factory, nil), "shop", "--enabled=false", "-o", "json")); c["enabled"] != false {
		t.Fatalf("update --enabled=false: %v", c)
	}
	user := asUser(t, srv)
	if code, _, _ := user.run(t, NewCmdConsumersEnable(user.Factory, true, nil), "shop"); code != ExitRefused {
		t.Fatalf("a user enabling a consumer: %d", code)
	}
	if code, _, errOut := f.run(t, NewCmdConsumersEnable(f.Factory, true, nil), "nope"); code != ExitError || !strings.Contains(errOut, "nope") {
		t.Fatalf("an unknown consumer: %d %q", code, errOut)
	}
}
