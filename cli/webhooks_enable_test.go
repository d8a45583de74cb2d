package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksEnableDisable(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newHook(t)
	f.must(t, NewCmdWebhooksEnable(f.Factory, false, nil), hook)
	if out := f.must(t, NewCmdWebhooksShow(f.Factory, nil), hook); !strings.Contains(out, "key.created") || !strings.Contains(out, "disabled") {
		t.Fatalf("show after disable: %q", out)
	}
	if h := jsonOf[map[string]any](t, f.must(t, NewCmdWebhooksEnable(f.Factory, true, nil), hook, "-o", "json")); h["enabled"] != true {
		t.Fatalf("enable: %v", h)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksEnable(f.Factory, true, nil)); code != ExitUsage || !strings.Contains(errOut, "accepts 1 arg") {
		t.Fatalf("enable without an endpoint: %d %q", code, errOut)
	}
}
