package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysList(t *testing.T) {
	srv := apitest.New(t)
	f := asUser(t, srv)
	key := f.createKey(t, "--name", "ci", "--scope", "profile")
	out := f.must(t, NewCmdKeysList(f.Factory, nil))
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "ci") || !strings.Contains(out, key[:len("kw_live_")+4]) ||
		strings.Contains(out, "OWNER") {
		t.Fatalf("list: %q", out)
	}
	noSecretIn(t, "list", out, key)
	// -o json: exactly the API's objects, every field of the key schema, no secret.
	keys := jsonOf[[]map[string]any](t, f.must(t, NewCmdKeysList(f.Factory, nil), "-o", "json"))
	if len(keys) != 1 {
		t.Fatalf("list -o json: %v", keys)
	}
	mine := keys[0]
	for _, fl := range []string{"id", "prefix", "status", "environment", "scopes", "expires_at", "last_used_at", "rate_limit", "ip_allowlist", "owner_username"} {
		if _, ok := mine[fl]; !ok {
			t.Fatalf("list -o json lacks %s: %v", fl, mine)
		}
	}
	if _, leaked := mine["key"]; leaked || !slices.Equal(strs(mine["scopes"]), []string{"profile"}) {
		t.Fatalf("list -o json: %v", mine)
	}
	// An admin sees whose keys they are.
	admin := asAdmin(t, srv)
	if out := admin.must(t, NewCmdKeysList(admin.Factory, nil), "--owner", "alice"); !strings.Contains(out, "OWNER") || !strings.Contains(out, "alice") {
		t.Fatalf("admin's list: %q", out)
	}
}

func TestKeysList_OthersKeys_OnlyAdmins(t *testing.T) {
	f := asUser(t, apitest.New(t))
	code, out, errOut := f.run(t, NewCmdKeysList(f.Factory, nil), "--owner", "bob")
	if code != ExitRefused || out != "" || !strings.Contains(errOut, "only admins") {
		t.Fatalf("alice lists bob's keys: %d %q", code, errOut)
	}
	oneErrorLine(t, "refused", errOut)
	var got *KeysListOptions
	f.must(t, NewCmdKeysList(f.Factory, func(o *KeysListOptions) error { got = o; return nil }), "--status", "active", "-q", "ci", "--sort", "name")
	if got.Query.Status != "active" || got.Query.Q != "ci" || got.Query.Sort != "name" || got.Output != "table" {
		t.Fatalf("parsed: %+v", got.Query)
	}
}

// strs is a JSON array of strings.
func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// The shell completes key names (cobra's __complete, which the scripts call): the
// person's keys not superseded by a rotation, described by prefix and status.
func TestKeys_CompletionOfNames(t *testing.T) {
	f := asUser(t, apitest.New(t))
	key := f.createKey(t, "--name", "ci-nightly")
	f.createKey(t, "--name", "other")
	root := New(f.Factory)
	root.SetArgs([]string{"__complete", "keys", "rotate", "ci"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	out := f.stdout.String()
	f.stdout.Reset()
	if !strings.Contains(out, "ci-nightly\t"+key[:len("kw_live_")+12]+" active") || strings.Contains(out, "other") || !strings.Contains(out, ":4\n") {
		t.Fatalf("completion of key names: %q", out)
	}
	noSecretIn(t, "completion", out, key)
}
