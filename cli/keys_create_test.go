package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysCreate(t *testing.T) {
	f := asUser(t, apitest.New(t))
	code, out, errOut := f.run(t, NewCmdKeysCreate(f.Factory, nil), "--name", "ci", "--expires-in", "90d", "--scope", "profile")
	key := strings.TrimSuffix(out, "\n")
	if code != 0 || !strings.HasPrefix(key, "kw_live_") || strings.ContainsAny(key, " \n") {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	noSecretIn(t, "create's stderr", errOut, key)
	if !strings.Contains(errOut, "Created key ci (") || !strings.Contains(errOut, "shown this once") {
		t.Fatalf("create's stderr: %q", errOut)
	}
	// -o json: the API's object, with the key.
	k := jsonOf[map[string]any](t, f.must(t, NewCmdKeysCreate(f.Factory, nil), "--name", "ci-json", "-o", "json"))
	if k["name"] != "ci-json" || !strings.HasPrefix(k["key"].(string), "kw_live_") {
		t.Fatalf("create -o json: %v", k)
	}
}

func TestKeysCreate_OutFile_NeverOverwritten(t *testing.T) {
	f := asUser(t, apitest.New(t))
	file := filepath.Join(t.TempDir(), "nightly.key")
	code, out, _ := f.run(t, NewCmdKeysCreate(f.Factory, nil), "--name", "nightly", "--never-expires", "--out-file", file)
	b, err := os.ReadFile(file)
	if code != 0 || err != nil || out != "" || !strings.HasPrefix(string(b), "kw_live_") {
		t.Fatalf("--out-file: %d %q %v", code, out, err)
	}
	if m := mode(t, file); m != 0o600 {
		t.Fatalf("key file mode %o", m)
	}
	code, out, errOut := f.run(t, NewCmdKeysCreate(f.Factory, nil), "--name", "again", "--out-file", file)
	if code != ExitUsage || !strings.Contains(errOut, "not overwritten") || out != "" {
		t.Fatalf("existing --out-file: %d %q", code, errOut)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, b) {
		t.Fatal("the key file was overwritten")
	}
	if code, _, _ := f.run(t, NewCmdKeysShow(f.Factory, nil), "again"); code != ExitError {
		t.Fatalf("a key was created although its file could not be: %d", code)
	}
}

func TestKeysCreate_Flags(t *testing.T) {
	f := asUser(t, apitest.New(t))
	var got *KeysCreateOptions
	runF := func(o *KeysCreateOptions) error { got = o; return nil }
	f.must(t, NewCmdKeysCreate(f.Factory, runF), "--name", "n", "--expires-in", "12w", "--rate-limit", "100/1m",
		"--metadata", `{"team":"data"}`, "--ip-allow", "10.0.0.0/8,192.0.2.1/32", "-o", "json")
	if got.In.Name != "n" || *got.In.ExpiresInDays != 84 || got.In.RateLimit.Requests != 100 || got.In.RateLimit.WindowSeconds != 60 ||
		string(got.In.Metadata) != `{"team":"data"}` || len(got.In.IPAllowlist) != 2 || got.Output != "json" {
		t.Fatalf("parsed: %+v", got.In)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, `"name" not set`},
		{[]string{"--name", "n", "--expires-in", "soon"}, "--expires-in"},
		{[]string{"--name", "n", "--expires-at", "tomorrow"}, "--expires-at"},
		{[]string{"--name", "n", "--rate-limit", "lots"}, "--rate-limit"},
		{[]string{"--name", "n", "--metadata", "{"}, "--metadata"},
		{[]string{"--name", "n", "--expires-in", "9d", "--never-expires"}, "none of the others"},
		{[]string{"--name", "n", "-o", "yaml"}, `-o "yaml": use key or json`},
	} {
		code, _, errOut := f.run(t, NewCmdKeysCreate(f.Factory, nil), c.args...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
	// The server's refusal names the flag, with the usage code.
	code, _, errOut := f.run(t, NewCmdKeysCreate(f.Factory, nil), "--name", "n", "--environment", "moon")
	if code != ExitUsage || !strings.Contains(errOut, "--environment") {
		t.Fatalf("refused environment: %d %q", code, errOut)
	}
	oneErrorLine(t, "refused environment", errOut)
}
