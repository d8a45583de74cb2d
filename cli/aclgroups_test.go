package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestACLGroupsCreate(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	code, out, errOut := f.run(t, NewCmdACLGroupsCreate(f.Factory, nil), "partners", "--description", "partner APIs")
	if code != 0 || out != "" || !strings.Contains(errOut, "Created ACL group partners (/keyward-acl/partners).") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if g := jsonOf[map[string]any](t, f.must(t, NewCmdACLGroupsCreate(f.Factory, nil), "finance", "-o", "json")); g["name"] != "finance" {
		t.Fatalf("create -o json: %v", g)
	}
	if code, _, errOut := f.run(t, NewCmdACLGroupsCreate(f.Factory, nil), "Not A Name"); code != ExitUsage || !strings.Contains(errOut, "--name") {
		t.Fatalf("bad name: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, out, errOut := user.run(t, NewCmdACLGroupsCreate(user.Factory, nil), "x"); code != ExitRefused || out != "" ||
		!strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}

func TestACLGroupsList(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.must(t, NewCmdACLGroupsCreate(f.Factory, nil), "partners", "--description", "made by the CLI test")
	f.must(t, NewCmdACLGroupsCreate(f.Factory, nil), "analytics")
	groups := jsonOf[[]map[string]any](t, f.must(t, NewCmdACLGroupsList(f.Factory, nil), "-o", "json"))
	names := []string{}
	for _, g := range groups {
		names = append(names, g["name"].(string))
	}
	if !strings.Contains(strings.Join(names, ","), "partners") || !strings.Contains(strings.Join(names, ","), "analytics") {
		t.Fatalf("acl groups %v", names)
	}
	if out := f.must(t, NewCmdACLGroupsList(f.Factory, nil)); !strings.Contains(out, "NAME") || !strings.Contains(out, "made by the CLI test") {
		t.Fatalf("table: %q", out)
	}
	user := asOther(t, srv)
	code, out, errOut := user.run(t, NewCmdACLGroupsList(user.Factory, nil))
	if code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
	oneErrorLine(t, "bob", errOut)
}

func TestACLGroupsDelete(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.newConsumer(t, "shop", "partners")
	// In use by a consumer: refused.
	if code, _, errOut := f.run(t, NewCmdACLGroupsDelete(f.Factory, nil), "partners"); code == 0 || !strings.Contains(errOut, "keyward: ") {
		t.Fatalf("delete a group in use: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, _, errOut := user.run(t, NewCmdACLGroupsDelete(user.Factory, nil), "partners"); code != ExitRefused || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
	f.must(t, NewCmdConsumersDelete(f.Factory, nil), "shop")
	code, out, errOut := f.run(t, NewCmdACLGroupsDelete(f.Factory, nil), "partners")
	if code != 0 || out != "" || !strings.Contains(errOut, "Deleted ACL group partners.") {
		t.Fatalf("delete: %d %q %q", code, out, errOut)
	}
}
