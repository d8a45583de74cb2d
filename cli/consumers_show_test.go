package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestConsumersShow(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newConsumer(t, "shop")
	c := jsonOf[map[string]any](t, f.must(t, NewCmdConsumersShow(f.Factory, nil), "shop", "-o", "json"))
	if out := f.must(t, NewCmdConsumersShow(f.Factory, nil), c["id"].(string)); !strings.Contains(out, "shop") {
		t.Fatalf("show by id: %q", out)
	}
	if code, _, errOut := f.run(t, NewCmdConsumersShow(f.Factory, nil), "nope"); code != ExitError || !strings.Contains(errOut, `no consumer named or with id "nope"`) {
		t.Fatalf("show nope: %d %q", code, errOut)
	}
}
