package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// exec: the child gets the token, not the key, and its exit status passes through.
func TestExec(t *testing.T) {
	f := asUser(t, apitest.New(t))
	key := f.createKey(t, "--name", "ci")
	f.env["KEYWARD_API_KEY"] = key
	tok := strings.TrimSpace(f.must(t, NewCmdToken(f.Factory, nil)))
	cmd := NewCmdExec(f.Factory, func(o *ExecOptions) error {
		// The parent's environment holds the key, as a shell would hand it down.
		o.Environ = func() []string { return append(os.Environ(), "KEYWARD_API_KEY="+key) }
		return execRun(o)
	})
	code, out, _ := f.run(t, cmd, "--", "sh", "-c", `printf '%s|%s' "${KEYWARD_ACCESS_TOKEN%%.*}" "${KEYWARD_API_KEY:-none}"; exit 7`)
	parts := strings.SplitN(out, "|", 2)
	if code != 7 || len(parts) != 2 || parts[0] == "" || !strings.HasPrefix(tok, parts[0]) || parts[1] != "none" {
		t.Fatalf("exec: exit %d, child saw %q", code, out)
	}
	if code, _, errOut := f.run(t, NewCmdExec(f.Factory, nil)); code != ExitUsage || !strings.Contains(errOut, "requires at least 1 arg") {
		t.Fatalf("exec without a command: %d %q", code, errOut)
	}
	f.env["KEYWARD_API_KEY"] = "kw_live_unknown"
	if code, out, errOut := f.run(t, NewCmdExec(f.Factory, nil), "--", "true"); code != ExitRefused || out != "" || strings.Contains(errOut, key) {
		t.Fatalf("exec with a refused key: %d %q", code, errOut)
	}
}
