package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/apitest"
	"github.com/keyward/keyward/internal/testkit"
)

// The command line shows every field of a key and can set every field of a request:
// a field added to api.Key, api.KeyCreate or api.KeyUpdate and forgotten here fails.

// keys show's table changes with every field of api.Key (or the field is exempted).
func TestKeysShow_TableShowsEveryField(t *testing.T) {
	var k api.Key
	testkit.Fill(&k)
	limited := k
	limited.RateLimit.Unlimited = false // requests per window are shown only then
	table := func(k api.Key) any {
		var b bytes.Buffer
		if err := keyDetails(&b, client.Key{Key: k}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(b.String(), "\n")
		slices.Sort(lines) // the admin's decisions come in a map's order
		return lines
	}
	testkit.RequireOnly(t, "a field of api.Key keys show leaves out", testkit.Unread(table, k, limited), map[string]string{
		"updated_at": "not in the table (it never was); -o json has it",
	})
}

// keys show -o json carries every field of api.Key, those sent only when set included:
// a key set up by an admin, used, then rotated has them all.
func TestKeysShow_JSONCarriesEveryField(t *testing.T) {
	srv := apitest.New(t)
	admin, f := asAdmin(t, srv), asUser(t, srv)
	key := admin.createKey(t, "--name", "ci", "--owner", "alice", "--description", "d", "--scope", "profile",
		"--metadata", `{"team":"a"}`, "--rate-limit", "100/1m", "--ip-allow", "127.0.0.0/8,::1/128", "--role", "reports-read")
	if code := f.exchange(t, key); code != 0 {
		t.Fatalf("token: %d", code)
	}
	if err := srv.Usage.Flush(context.Background()); err != nil { // writes last_used_*
		t.Fatal(err)
	}
	old := jsonOf[map[string]any](t, f.must(t, NewCmdKeysShow(f.Factory, nil), "ci", "-o", "json"))["id"].(string)
	f.must(t, NewCmdKeysRotate(f.Factory, nil), "ci", "--grace", "24h")
	shown := jsonOf[map[string]any](t, f.must(t, NewCmdKeysShow(f.Factory, nil), old, "-o", "json"))
	var missing []string
	for _, name := range testkit.JSONNames(api.Key{}) {
		if shown[name] == nil {
			missing = append(missing, name)
		}
	}
	testkit.RequireOnly(t, "a field of api.Key keys show -o json lacks", missing, map[string]string{
		"consumer": "a consumer's key's alone (alice's has none): TestKeys_Consumer shows it",
	})
}

// flagsReach runs cmd once per flag, with args and that flag alone, and returns the
// JSON fields of the request (got reads it after the run) that any flag changed, with
// the errors of the runs that failed.
func flagsReach(t *testing.T, newCmd func(*Factory) *cobra.Command, args []string, got func() any) (reached []string, failed []string) {
	t.Helper()
	// Values the flags parse; any other flag takes "x" (or true).
	samples := map[string]string{"expires-in": "90d", "expires-at": "2030-01-02T03:04:05Z", "rate-limit": "100/1m",
		"metadata": `{"a":1}`, "output": "json"}
	f := asUser(t, apitest.New(t))
	fields := func(args ...string) map[string]json.RawMessage {
		code, _, errOut := f.run(t, newCmd(f.Factory), args...)
		if code != 0 {
			failed = append(failed, fmt.Sprintf("%v: %s", args, strings.TrimSpace(errOut)))
			return nil
		}
		m := map[string]json.RawMessage{}
		_ = json.Unmarshal(mustJSON(got()), &m)
		return m
	}
	base := fields(args...)
	newCmd(f.Factory).Flags().VisitAll(func(fl *pflag.Flag) {
		value, ok := samples[fl.Name]
		switch {
		case ok:
		case fl.Value.Type() == "bool":
			value = "true"
		default:
			value = "x"
		}
		for name, v := range fields(append(slices.Clone(args), "--"+fl.Name+"="+value)...) {
			if !bytes.Equal(v, base[name]) && !slices.Contains(reached, name) {
				reached = append(reached, name)
			}
		}
	})
	return reached, failed
}

// Every field of a create or update request has a flag (or is exempted).
func TestKeysCreateUpdate_AFlagForEveryField(t *testing.T) {
	var in api.KeyCreate
	reached, failed := flagsReach(t, func(f *Factory) *cobra.Command {
		return NewCmdKeysCreate(f, func(o *KeysCreateOptions) error { in = o.In; return nil })
	}, []string{"--name", "n"}, func() any { return in })
	testkit.RequireOnly(t, "a field of api.KeyCreate no flag of keys create sets", unreached(api.KeyCreate{}, reached), nil)
	if t.Failed() {
		t.Logf("runs that failed: %q", failed)
	}

	var up api.KeyUpdate
	reached, failed = flagsReach(t, func(f *Factory) *cobra.Command {
		return NewCmdKeysUpdate(f, func(o *KeysUpdateOptions) error { up = o.Update; return nil })
	}, []string{"ci", "--name", "n"}, func() any { return up })
	testkit.RequireOnly(t, "a field of api.KeyUpdate no flag of keys update sets", unreached(api.KeyUpdate{}, reached), nil)
	if t.Failed() {
		t.Logf("runs that failed: %q", failed)
	}
}

func unreached(request any, reached []string) []string {
	var out []string
	for _, name := range testkit.JSONNames(request) {
		if !slices.Contains(reached, name) {
			out = append(out, name)
		}
	}
	return out
}
