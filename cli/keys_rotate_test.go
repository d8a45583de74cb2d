package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysRotate_WithGrace(t *testing.T) {
	srv := apitest.New(t)
	f := asUser(t, srv)
	key := f.createKey(t, "--name", "ci")
	code, out, errOut := f.run(t, NewCmdKeysRotate(f.Factory, nil), "ci", "--grace", "24h")
	next := strings.TrimSuffix(out, "\n")
	if code != 0 || !strings.HasPrefix(next, "kw_live_") || next == key {
		t.Fatalf("rotate: %d %q %q", code, out, errOut)
	}
	noSecretIn(t, "rotate's stderr", errOut, key, next)
	m := regexp.MustCompile(`works until (\S+) \(grace ends\)`).FindStringSubmatch(errOut)
	if m == nil || !strings.Contains(errOut, "Rotated key ci (") {
		t.Fatalf("no grace end on stderr: %q", errOut)
	}
	if end, err := time.Parse(time.RFC3339, m[1]); err != nil || end.Sub(srv.Clock.Now()).Round(time.Minute) != 24*time.Hour {
		t.Fatalf("grace end %q, want 24h from now", m[1])
	}
	for _, k := range []string{key, next} { // both work during the grace
		if code := f.exchange(t, k); code != 0 {
			t.Fatalf("token during grace: %d", code)
		}
	}
	// The name now means the successor.
	shown := jsonOf[map[string]any](t, f.must(t, NewCmdKeysShow(f.Factory, nil), "ci", "-o", "json"))
	if !strings.HasPrefix(next, shown["prefix"].(string)) {
		t.Fatalf("show after rotate: %v", shown)
	}
	// Without a grace the old key stops now.
	code, _, errOut = f.run(t, NewCmdKeysRotate(f.Factory, nil), "ci", "--grace", "0")
	srv.Clock.Advance(time.Second)
	if code != 0 || f.exchange(t, next) != ExitRefused {
		t.Fatalf("rotate --grace 0: %d %q", code, errOut)
	}
}

func TestKeysRotate_Flags(t *testing.T) {
	f := asUser(t, apitest.New(t))
	var got *KeysRotateOptions
	f.must(t, NewCmdKeysRotate(f.Factory, func(o *KeysRotateOptions) error { got = o; return nil }), "ci", "--grace", "7d")
	if got.Ref != "ci" || *got.Grace != 7*24*time.Hour || got.Output != "key" {
		t.Fatalf("parsed: %+v", got)
	}
	if code, _, errOut := f.run(t, NewCmdKeysRotate(f.Factory, nil), "ci", "--grace", "90m"); code != ExitUsage || !strings.Contains(errOut, "--grace") {
		t.Fatalf("--grace 90m: %d %q", code, errOut)
	}
}
