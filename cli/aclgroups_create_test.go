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
