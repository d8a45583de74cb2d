package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestConsumersDelete(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newConsumer(t, "shop")
	f.must(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "shop", "--client-id", "orders")
	// It has a client: refused without --cascade.
	if code, _, errOut := f.run(t, NewCmdConsumersDelete(f.Factory, nil), "shop"); code != ExitError {
		t.Fatalf("delete with a client: %d %q", code, errOut)
	}
	code, out, errOut := f.run(t, NewCmdConsumersDelete(f.Factory, nil), "shop", "--cascade")
	if code != 0 || out != "" || !strings.Contains(errOut, "Deleted consumer shop.") {
		t.Fatalf("delete --cascade: %d %q %q", code, out, errOut)
	}
	if out := f.must(t, NewCmdClientsList(f.Factory, nil), "-o", "json"); strings.Contains(out, "orders") {
		t.Fatal("the client outlived its consumer")
	}
}
