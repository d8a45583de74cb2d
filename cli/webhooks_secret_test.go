package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksSecretRotate(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	whsec := f.newHook(t)
	code, out, errOut := f.run(t, NewCmdWebhooksSecretRotate(f.Factory, nil), hook, "--overlap", "2h")
	rotated := strings.TrimSpace(out)
	if code != 0 || rotated == whsec || !strings.HasPrefix(rotated, "whsec_") || !strings.Contains(errOut, "the old one signs too until") {
		t.Fatalf("rotate: %q / %q", out, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksSecretRotate(f.Factory, nil), hook); code != 0 || !strings.Contains(errOut, "the old one no longer signs") {
		t.Fatalf("rotate without overlap: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksSecretRotate(f.Factory, nil), hook, "--overlap", "90m"); code != ExitUsage || !strings.Contains(errOut, "--overlap") {
		t.Fatalf("--overlap 90m: %d %q", code, errOut)
	}
}
