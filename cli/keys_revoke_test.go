package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysRevoke(t *testing.T) {
	f := asUser(t, apitest.New(t))
	rotated := f.createKey(t, "--name", "ci")
	key := strings.TrimSpace(f.must(t, NewCmdKeysRotate(f.Factory, nil), "ci", "--grace", "24h"))
	code, out, errOut := f.run(t, NewCmdKeysRevoke(f.Factory, nil), "ci")
	if code != 0 || out != "" || !strings.Contains(errOut, "Revoked key ci") {
		t.Fatalf("revoke: %d %q %q", code, out, errOut)
	}
	code, out, errOut = f.token(t, key)
	if code != ExitRefused || out != "" {
		t.Fatalf("revoked key: %d", code)
	}
	oneErrorLine(t, "revoked key", errOut)
	noSecretIn(t, "revoked key", errOut, key)
	// The name now reaches the rotated key, still in its grace: revoke that one too.
	old := jsonOf[map[string]any](t, f.must(t, NewCmdKeysShow(f.Factory, nil), "ci", "-o", "json"))
	if old["rotated_to"] == nil {
		t.Fatalf("show after revoking the successor: %v", old)
	}
	f.must(t, NewCmdKeysRevoke(f.Factory, nil), "ci")
	if code := f.exchange(t, rotated); code != ExitRefused {
		t.Fatalf("revoked rotated key: %d", code)
	}
	if code, _, errOut := f.run(t, NewCmdKeysShow(f.Factory, nil), "ci"); code != ExitError || !strings.Contains(errOut, "no key named") {
		t.Fatalf("show revoked: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdKeysRevoke(f.Factory, nil), "ci"); code != ExitError || !strings.Contains(errOut, "no key named") {
		t.Fatalf("revoke again: %d %q", code, errOut)
	}
}
