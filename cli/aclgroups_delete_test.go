package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

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
