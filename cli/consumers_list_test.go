package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestConsumersList(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.newConsumer(t, "shop")
	if out := f.must(t, NewCmdConsumersList(f.Factory, nil)); !strings.Contains(out, "shop") || !strings.Contains(out, "ACL GROUPS") {
		t.Fatalf("consumers list: %q", out)
	}
	if cs := jsonOf[[]map[string]any](t, f.must(t, NewCmdConsumersList(f.Factory, nil), "-o", "json", "-q", "sho")); len(cs) != 1 || cs[0]["name"] != "shop" {
		t.Fatalf("-o json: %v", cs)
	}
	user := asOther(t, srv)
	if code, out, errOut := user.run(t, NewCmdConsumersList(user.Factory, nil)); code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}
