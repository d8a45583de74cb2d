package cli

import (
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksCreate(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	// Refused input names the flags, and nothing is registered.
	code, _, errOut := f.run(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", "http://169.254.169.254/x", "--event", "key.nope")
	if code != ExitUsage || !strings.Contains(errOut, "--url") || !strings.Contains(errOut, "--event") {
		t.Fatalf("refused create: %d %q", code, errOut)
	}
	code, out, errOut := f.run(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", hook, "--event", "key.created")
	whsec := strings.TrimSpace(out)
	if _, err := standardwebhooks.NewWebhook(whsec); code != 0 || err != nil || !strings.HasPrefix(whsec, "whsec_") {
		t.Fatalf("create printed %q: %v", out, err)
	}
	if !strings.Contains(errOut, "Registered "+hook+" for key.created (enabled)") || strings.Contains(errOut, whsec) {
		t.Fatalf("create's stderr: %q", errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", hook); code != ExitUsage || !strings.Contains(errOut, `"event" not set`) {
		t.Fatalf("no event: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, out, errOut := user.run(t, NewCmdWebhooksCreate(user.Factory, nil), "--url", hook, "--event", "*"); code != ExitRefused || out != "" ||
		!strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}
