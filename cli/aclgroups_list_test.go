package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
