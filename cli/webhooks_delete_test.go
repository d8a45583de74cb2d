package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksDelete(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newHook(t)
	code, out, errOut := f.run(t, NewCmdWebhooksDelete(f.Factory, nil), hook)
	if code != 0 || out != "" || !strings.Contains(errOut, "Deleted webhook endpoint "+hook+".") {
		t.Fatalf("delete: %d %q %q", code, out, errOut)
	}
	if out := f.must(t, NewCmdWebhooksList(f.Factory, nil), "-o", "json"); strings.Contains(out, hook) {
		t.Fatal("the endpoint outlived its delete")
	}
}
