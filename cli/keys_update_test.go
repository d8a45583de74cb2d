package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysUpdate(t *testing.T) {
	f := asUser(t, apitest.New(t))
	f.createKey(t, "--name", "ci", "--scope", "profile", "--ip-allow", "10.0.0.0/8")
	code, out, errOut := f.run(t, NewCmdKeysUpdate(f.Factory, nil), "ci", "--description", "CI of the data team", "--rate-limit", "100/1m", "-o", "json")
	k := jsonOf[map[string]any](t, out)
	if code != 0 || k["description"] != "CI of the data team" || !strings.Contains(errOut, "Updated key ci (") {
		t.Fatalf("update: %d %q %q", code, out, errOut)
	}
	if rl, _ := k["rate_limit"].(map[string]any); rl["requests"] != 100.0 || rl["window_seconds"] != 60.0 {
		t.Fatalf("rate_limit %v", k["rate_limit"])
	}
	// The table, and the lists cleared.
	out = f.must(t, NewCmdKeysUpdate(f.Factory, nil), "ci", "--no-scopes", "--no-ip-allowlist", "--name", "ci2")
	if !strings.Contains(out, "ci2") || !strings.Contains(out, "100 per 1m") || strings.Contains(out, "ip allowlist") {
		t.Fatalf("update's table: %q", out)
	}
	// The server's refusal names the flag, with the usage code, in one line.
	code, _, errOut = f.run(t, NewCmdKeysUpdate(f.Factory, nil), "ci2", "--name", " ")
	if code != ExitUsage || !strings.Contains(errOut, "--name") {
		t.Fatalf("blank name: %d %q", code, errOut)
	}
	oneErrorLine(t, "blank name", errOut)
}

func TestKeysUpdate_Flags(t *testing.T) {
	f := asUser(t, apitest.New(t))
	var got *KeysUpdateOptions
	runF := func(o *KeysUpdateOptions) error { got = o; return nil }
	f.must(t, NewCmdKeysUpdate(f.Factory, runF), "ci", "--scope", "a,b", "--no-ip-allowlist", "--enabled=false", "--metadata", "null")
	if got.Ref != "ci" || len(*got.Update.Scopes) != 2 || len(*got.Update.IPAllowlist) != 0 || *got.Update.Enabled ||
		string(got.Update.Metadata) != "null" || got.Update.Name != nil {
		t.Fatalf("parsed: %+v", got.Update)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ci"}, "nothing to change"},
		{[]string{"ci", "--scope", "a", "--no-scopes"}, "--scope and --no-scopes exclude each other"},
		{[]string{"ci", "--ip-allow", "10.0.0.0/8", "--no-ip-allowlist"}, "--ip-allow and --no-ip-allowlist exclude each other"},
		{[]string{"ci", "--expires-in", "7d", "--expires-at", "2030-01-01T00:00:00Z"}, "none of the others"},
		{[]string{"ci", "--grace", "1h"}, "unknown flag: --grace"},
	} {
		code, _, errOut := f.run(t, NewCmdKeysUpdate(f.Factory, nil), c.args...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
}
