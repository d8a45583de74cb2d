package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
)

func TestSigningKeys(t *testing.T) {
	opened := false
	f := &Factory{Getenv: func(string) string { return "" }, Service: Service{
		OpenKeyRing: func(context.Context, config.Config) (*exchange.KeyRing, func(), error) {
			opened = true
			return nil, func() {}, nil
		}}}
	root := New(f)
	for _, sub := range []string{"list", "rotate"} {
		var got *SigningKeysOptions
		cmd := NewCmdSigningKeys(f, sub, "s", "e", listSigningKeys, func(o *SigningKeysOptions) error { got = o; return nil })
		if err := runCmd(cmd, "-database-url", "x"); err != nil || strings.Join(got.Args, " ") != "-database-url x" {
			t.Fatalf("%s parsed: %+v %v", sub, got, err)
		}
		if c, _, err := root.Find([]string{"signing-keys", sub}); err != nil || c.Name() != sub {
			t.Fatalf("signing-keys %s: %v", sub, err)
		}
	}
	// A configuration that does not load is a usage error; the store is not opened.
	if err := runCmd(NewCmdSigningKeys(f, "list", "s", "e", listSigningKeys, nil), "-no-such-flag"); exitCode(err) != ExitUsage || opened {
		t.Fatalf("bad flag: %v, opened %v", err, opened)
	}
}

func TestPrintSigningKeys(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	printSigningKeys(&out, []exchange.SigningKeyInfo{{KID: "old", ActiveFrom: now.Add(-48 * time.Hour)},
		{KID: "cur", ActiveFrom: now.Add(-time.Hour)}, {KID: "nxt", ActiveFrom: now.Add(time.Hour)}}, now)
	for _, want := range []string{"KID", "old", "previous", "cur", "current", "nxt", "next", "2030-01-01T01:00:00Z"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("lacks %q:\n%s", want, out.String())
		}
	}
}
