package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestConsumersCreate(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.must(t, NewCmdACLGroupsCreate(f.Factory, nil), "analytics")
	c := jsonOf[map[string]any](t, f.must(t, NewCmdConsumersCreate(f.Factory, nil), "--name", "shop", "--acl-group", "analytics", "-o", "json"))
	if c["name"] != "shop" || len(strs(c["acl_groups"])) != 1 {
		t.Fatalf("consumer: %v", c)
	}
	out := f.must(t, NewCmdConsumersCreate(f.Factory, nil), "--name", "shop2", "--environment", "staging")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "shop2") || !strings.Contains(out, "staging") {
		t.Fatalf("table: %q", out)
	}
	if code, _, errOut := f.run(t, NewCmdConsumersCreate(f.Factory, nil), "--name", "x", "--acl-group", "nope"); code != ExitUsage ||
		!strings.Contains(errOut, "--acl-group") {
		t.Fatalf("unknown group: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdConsumersCreate(f.Factory, nil)); code != ExitUsage || !strings.Contains(errOut, `"name" not set`) {
		t.Fatalf("no name: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	code, out, errOut := user.run(t, NewCmdConsumersCreate(user.Factory, nil), "--name", "shop-bob")
	if code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q %q", code, out, errOut)
	}
	oneErrorLine(t, "bob", errOut)
}
