package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestConsumersUpdate(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newConsumer(t, "shop", "analytics", "finance")
	c := jsonOf[map[string]any](t, f.must(t, NewCmdConsumersUpdate(f.Factory, nil), "shop", "--acl-group", "finance", "--description", "the shop", "-o", "json"))
	if g := strs(c["acl_groups"]); len(g) != 1 || g[0] != "finance" || c["description"] != "the shop" {
		t.Fatalf("update: %v", c)
	}
	c = jsonOf[map[string]any](t, f.must(t, NewCmdConsumersUpdate(f.Factory, nil), "shop", "--no-acl-groups", "-o", "json"))
	if len(c["acl_groups"].([]any)) != 0 {
		t.Fatalf("--no-acl-groups: %v", c)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"shop"}, "nothing to change"},
		{[]string{"shop", "--acl-group", "a", "--no-acl-groups"}, "none of the others"},
		{[]string{"shop", "--environment", "moon"}, "--environment"},
	} {
		if code, _, errOut := f.run(t, NewCmdConsumersUpdate(f.Factory, nil), c.args...); code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
}
