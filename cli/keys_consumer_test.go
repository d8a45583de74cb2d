package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// keyward keys create --consumer and keys list --consumer: admins make and list a
// consumer's keys; a user is refused both and never sees them.
func TestKeys_Consumer(t *testing.T) {
	srv := apitest.New(t)
	admin := asAdmin(t, srv)
	admin.must(t, NewCmdConsumersCreate(admin.Factory, nil), "--name", "shop")
	key := admin.createKey(t, "--name", "orders", "--consumer", "shop")
	if !strings.HasPrefix(key, "kw_live_") {
		t.Fatalf("created: %q", key)
	}
	out := admin.must(t, NewCmdKeysList(admin.Factory, nil), "--consumer", "shop")
	if !strings.Contains(out, "orders") || !strings.Contains(out, "consumer shop") {
		t.Fatalf("the consumer's keys: %q", out)
	}
	noSecretIn(t, "list", out, key)
	keys := jsonOf[[]map[string]any](t, admin.must(t, NewCmdKeysList(admin.Factory, nil), "--consumer", "shop", "-o", "json"))
	if len(keys) != 1 || keys[0]["owner_type"] != "consumer" || keys[0]["consumer"].(map[string]any)["name"] != "shop" {
		t.Fatalf("list -o json: %v", keys)
	}
	if out := admin.must(t, NewCmdKeysShow(admin.Factory, nil), keys[0]["id"].(string)); !strings.Contains(out, "consumer shop") {
		t.Fatalf("show: %q", out)
	}
	if code, _, errOut := admin.run(t, NewCmdKeysCreate(admin.Factory, nil), "--name", "x", "--consumer", "shop", "--owner", "alice"); code != ExitUsage ||
		!strings.Contains(errOut, "consumer") {
		t.Fatalf("--consumer with --owner: %d %q", code, errOut)
	}
	if code, _, errOut := admin.run(t, NewCmdKeysCreate(admin.Factory, nil), "--name", "x", "--consumer", "nope"); code == 0 ||
		!strings.Contains(errOut, "consumer") {
		t.Fatalf("an unknown consumer: %d %q", code, errOut)
	}

	user := asUser(t, srv)
	if code, _, errOut := user.run(t, NewCmdKeysCreate(user.Factory, nil), "--name", "x", "--consumer", "shop"); code != ExitRefused ||
		!strings.Contains(errOut, "only admins") {
		t.Fatalf("a user creating a consumer key: %d %q", code, errOut)
	}
	if code, _, errOut := user.run(t, NewCmdKeysList(user.Factory, nil), "--consumer", "shop"); code != ExitRefused ||
		!strings.Contains(errOut, "only admins") {
		t.Fatalf("a user listing a consumer's keys: %d %q", code, errOut)
	}
	if out := user.must(t, NewCmdKeysList(user.Factory, nil)); strings.Contains(out, "orders") {
		t.Fatalf("a user's list shows a consumer key: %q", out)
	}
}

// --contact-email on consumers create and update: stored, shown in -o json, cleared.
func TestConsumers_ContactEmail(t *testing.T) {
	admin := asAdmin(t, apitest.New(t))
	c := jsonOf[map[string]any](t, admin.must(t, NewCmdConsumersCreate(admin.Factory, nil), "--name", "shop", "--contact-email", "team@shop.example", "-o", "json"))
	if c["contact_email"] != "team@shop.example" {
		t.Fatalf("created %v", c)
	}
	if code, _, errOut := admin.run(t, NewCmdConsumersCreate(admin.Factory, nil), "--name", "bad", "--contact-email", "nope"); code != ExitUsage ||
		!strings.Contains(errOut, "contact_email") {
		t.Fatalf("a bad address: %d %q", code, errOut)
	}
	c = jsonOf[map[string]any](t, admin.must(t, NewCmdConsumersUpdate(admin.Factory, nil), "shop", "--contact-email", "", "-o", "json"))
	if c["contact_email"] != "" {
		t.Fatalf("cleared %v", c)
	}
}
