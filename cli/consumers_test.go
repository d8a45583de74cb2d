package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// newConsumer creates consumer name with the ACL groups through the commands.
func (f *tf) newConsumer(t *testing.T, name string, groups ...string) {
	t.Helper()
	for _, g := range groups {
		f.run(t, NewCmdACLGroupsCreate(f.Factory, nil), g) // may exist already
	}
	args := []string{"--name", name}
	for _, g := range groups {
		args = append(args, "--acl-group", g)
	}
	f.must(t, NewCmdConsumersCreate(f.Factory, nil), args...)
}

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
