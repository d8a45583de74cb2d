package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksShow(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	whsec := f.newHook(t)
	out := f.must(t, NewCmdWebhooksShow(f.Factory, nil), hook)
	if !strings.Contains(out, "EVENT TYPES") || !strings.Contains(out, "key.created") || !strings.Contains(out, "enabled") || strings.Contains(out, whsec) {
		t.Fatalf("show: %q", out)
	}
	h := jsonOf[map[string]any](t, f.must(t, NewCmdWebhooksShow(f.Factory, nil), hook, "-o", "json"))
	if out := f.must(t, NewCmdWebhooksShow(f.Factory, nil), h["id"].(string)); !strings.Contains(out, hook) {
		t.Fatalf("show by id: %q", out)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksShow(f.Factory, nil), "http://nope"); code != ExitError || !strings.Contains(errOut, "no webhook endpoint with URL or id") {
		t.Fatalf("show nope: %d %q", code, errOut)
	}
}
