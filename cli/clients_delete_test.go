package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestClientsDelete(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.newClient(t)
	user := asOther(t, srv)
	if code, _, errOut := user.run(t, NewCmdClientsDelete(user.Factory, nil), "orders"); code != ExitRefused || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
	code, out, errOut := f.run(t, NewCmdClientsDelete(f.Factory, nil), "orders")
	if code != 0 || out != "" || !strings.Contains(errOut, "Deleted client orders.") {
		t.Fatalf("delete: %d %q %q", code, out, errOut)
	}
	if code, _, _ := f.run(t, NewCmdClientsShow(f.Factory, nil), "orders"); code != ExitError {
		t.Fatalf("show after delete: %d", code)
	}
}
