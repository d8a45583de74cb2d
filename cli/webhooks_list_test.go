package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksList(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	whsec := f.newHook(t)
	out := f.must(t, NewCmdWebhooksList(f.Factory, nil), "-o", "json")
	if !strings.Contains(out, hook) || strings.Contains(out, whsec) {
		t.Fatalf("list: the endpoint missing or its secret shown: %s", out)
	}
	if out := f.must(t, NewCmdWebhooksList(f.Factory, nil)); !strings.Contains(out, "EVENT TYPES") || !strings.Contains(out, hook) {
		t.Fatalf("table: %q", out)
	}
	user := asOther(t, srv)
	code, out, errOut := user.run(t, NewCmdWebhooksList(user.Factory, nil))
	if code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob webhooks list: exit %d, %q %q", code, out, errOut)
	}
}
