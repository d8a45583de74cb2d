package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysShow(t *testing.T) {
	f := asUser(t, apitest.New(t))
	f.createKey(t, "--name", "ci", "--description", "CI of the data team")
	shown := jsonOf[map[string]any](t, f.must(t, NewCmdKeysShow(f.Factory, nil), "ci", "-o", "json"))
	if shown["name"] != "ci" || shown["id"] == nil {
		t.Fatalf("show -o json: %v", shown)
	}
	out := f.must(t, NewCmdKeysShow(f.Factory, nil), shown["id"].(string))
	for _, want := range []string{"name", "ci", "CI of the data team", "rate limit", "owner", "alice"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show by id lacks %q: %q", want, out)
		}
	}
	code, out, errOut := f.run(t, NewCmdKeysShow(f.Factory, nil), "nope")
	if code != ExitError || out != "" || !strings.Contains(errOut, `no key named or with id "nope"`) {
		t.Fatalf("show nope: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdKeysShow(f.Factory, nil)); code != ExitUsage || !strings.Contains(errOut, "accepts 1 arg") {
		t.Fatalf("show without a key: %d %q", code, errOut)
	}
}

// Another user's key is as if it did not exist, by id or by name, for every command
// that names a key.
func TestKeys_AnotherUsersKey(t *testing.T) {
	srv := apitest.New(t)
	bob := asOther(t, srv)
	bobKey := bob.createKey(t, "--name", "bobs")
	id := jsonOf[map[string]any](t, bob.must(t, NewCmdKeysShow(bob.Factory, nil), "bobs", "-o", "json"))["id"].(string)
	f := asUser(t, srv)
	for _, c := range []struct {
		cmd  *cobra.Command
		args []string
	}{
		{NewCmdKeysShow(f.Factory, nil), []string{id}}, {NewCmdKeysRevoke(f.Factory, nil), []string{id}},
		{NewCmdKeysRotate(f.Factory, nil), []string{id}}, {NewCmdKeysEnable(f.Factory, false, nil), []string{id}},
		{NewCmdKeysUsage(f.Factory, nil), []string{id}}, {NewCmdKeysShow(f.Factory, nil), []string{"bobs"}},
	} {
		code, out, errOut := f.run(t, c.cmd, c.args...)
		if code != ExitError || out != "" || !strings.Contains(errOut, "no key named or with id") {
			t.Fatalf("alice %s %v on bob's key: %d %q %q", c.cmd.Name(), c.args, code, out, errOut)
		}
	}
	if bob.exchange(t, bobKey) != 0 {
		t.Fatal("bob's key was touched")
	}
}
