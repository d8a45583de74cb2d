package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksUpdate(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newHook(t)
	out := f.must(t, NewCmdWebhooksUpdate(f.Factory, nil), hook, "--event", "key.*", "--description", "from the CLI")
	if !strings.Contains(out, "key.*") {
		t.Fatalf("update: %q", out)
	}
	if h := jsonOf[map[string]any](t, f.must(t, NewCmdWebhooksShow(f.Factory, nil), hook, "-o", "json")); h["description"] != "from the CLI" {
		t.Fatalf("show after update: %v", h)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksUpdate(f.Factory, nil), hook); code != ExitUsage || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("update nothing: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksUpdate(f.Factory, nil), hook, "--event", "nope"); code != ExitUsage || !strings.Contains(errOut, "--event") {
		t.Fatalf("update bad event: %d %q", code, errOut)
	}
}
