package cli

import (
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyward/keyward/internal/apitest"
)

const hook = "http://127.0.0.1:9/cli"

// newHook registers hook for key events and returns its secret.
func (f *tf) newHook(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(f.must(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", hook, "--event", "key.created"))
}

func TestWebhooksCreate(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	// Refused input names the flags, and nothing is registered.
	code, _, errOut := f.run(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", "http://169.254.169.254/x", "--event", "key.nope")
	if code != ExitUsage || !strings.Contains(errOut, "--url") || !strings.Contains(errOut, "--event") {
		t.Fatalf("refused create: %d %q", code, errOut)
	}
	code, out, errOut := f.run(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", hook, "--event", "key.created")
	whsec := strings.TrimSpace(out)
	if _, err := standardwebhooks.NewWebhook(whsec); code != 0 || err != nil || !strings.HasPrefix(whsec, "whsec_") {
		t.Fatalf("create printed %q: %v", out, err)
	}
	if !strings.Contains(errOut, "Registered "+hook+" for key.created (enabled)") || strings.Contains(errOut, whsec) {
		t.Fatalf("create's stderr: %q", errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", hook); code != ExitUsage || !strings.Contains(errOut, `"event" not set`) {
		t.Fatalf("no event: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, out, errOut := user.run(t, NewCmdWebhooksCreate(user.Factory, nil), "--url", hook, "--event", "*"); code != ExitRefused || out != "" ||
		!strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}

func TestWebhooksList(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	whsec := f.newHook(t)
	out := f.must(t, NewCmdWebhooksList(f.Factory, nil), "-o", "json")
	if !strings.Contains(out, hook) || strings.Contains(out, whsec) {
		t.Fatalf("list: the endpoint missing or its secret shown: %s", out)
	}
	if out := f.must(t, NewCmdWebhooksList(f.Factory, nil)); !strings.Contains(out, "EVENT TYPES") || !strings.Contains(out, hook) {
		t.Fatalf("table: %q", out)
	}
	user := asOther(t, srv)
	code, out, errOut := user.run(t, NewCmdWebhooksList(user.Factory, nil))
	if code != ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob webhooks list: exit %d, %q %q", code, out, errOut)
	}
}

func TestWebhooksShowUpdateEnable(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newHook(t)
	f.must(t, NewCmdWebhooksUpdate(f.Factory, nil), hook, "--event", "key.*", "--description", "from the CLI")
	f.must(t, NewCmdWebhooksEnable(f.Factory, false, nil), hook)
	if out := f.must(t, NewCmdWebhooksShow(f.Factory, nil), hook); !strings.Contains(out, "key.*") || !strings.Contains(out, "disabled") {
		t.Fatalf("show after update and disable: %q", out)
	}
	if h := jsonOf[map[string]any](t, f.must(t, NewCmdWebhooksEnable(f.Factory, true, nil), hook, "-o", "json")); h["enabled"] != true {
		t.Fatalf("enable: %v", h)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksUpdate(f.Factory, nil), hook); code != ExitUsage || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("update nothing: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksUpdate(f.Factory, nil), hook, "--event", "nope"); code != ExitUsage || !strings.Contains(errOut, "--event") {
		t.Fatalf("update bad event: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksShow(f.Factory, nil), "http://nope"); code != ExitError || !strings.Contains(errOut, "no webhook endpoint with URL or id") {
		t.Fatalf("show nope: %d %q", code, errOut)
	}
}

func TestWebhooksSecretRotate(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	whsec := f.newHook(t)
	code, out, errOut := f.run(t, NewCmdWebhooksSecretRotate(f.Factory, nil), hook, "--overlap", "2h")
	rotated := strings.TrimSpace(out)
	if code != 0 || rotated == whsec || !strings.HasPrefix(rotated, "whsec_") || !strings.Contains(errOut, "the old one signs too until") {
		t.Fatalf("rotate: %q / %q", out, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksSecretRotate(f.Factory, nil), hook); code != 0 || !strings.Contains(errOut, "the old one no longer signs") {
		t.Fatalf("rotate without overlap: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksSecretRotate(f.Factory, nil), hook, "--overlap", "90m"); code != ExitUsage || !strings.Contains(errOut, "--overlap") {
		t.Fatalf("--overlap 90m: %d %q", code, errOut)
	}
}

func TestWebhooksDeliveriesRedeliver(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.newHook(t)
	asUser(t, srv).createKey(t, "--name", "hooked") // key.created: one delivery queued
	ds := jsonOf[[]map[string]any](t, f.must(t, NewCmdWebhooksDeliveries(f.Factory, nil), hook, "-o", "json"))
	if len(ds) != 1 || ds[0]["event_type"] != "key.created" {
		t.Fatalf("deliveries -o json: %v", ds)
	}
	if table := f.must(t, NewCmdWebhooksDeliveries(f.Factory, nil), hook); !strings.Contains(table, "key.created") || !strings.Contains(table, "LAST ANSWER") {
		t.Fatalf("deliveries table: %q", table)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksDeliveries(f.Factory, nil), hook, "--limit", "500"); code != ExitUsage || !strings.Contains(errOut, "--limit") {
		t.Fatalf("--limit 500: %d %q", code, errOut)
	}
	code, _, errOut := f.run(t, NewCmdWebhooksRedeliver(f.Factory, nil), hook, ds[0]["id"].(string))
	if code != 0 || !strings.Contains(errOut, "Queued delivery "+ds[0]["id"].(string)+" (key.created") {
		t.Fatalf("redeliver: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksRedeliver(f.Factory, nil), hook); code != ExitUsage || !strings.Contains(errOut, "accepts 2 arg") {
		t.Fatalf("redeliver without an id: %d %q", code, errOut)
	}
}

func TestWebhooksDelete(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newHook(t)
	code, out, errOut := f.run(t, NewCmdWebhooksDelete(f.Factory, nil), hook)
	if code != 0 || out != "" || !strings.Contains(errOut, "Deleted webhook endpoint "+hook+".") {
		t.Fatalf("delete: %d %q %q", code, out, errOut)
	}
	if out := f.must(t, NewCmdWebhooksList(f.Factory, nil), "-o", "json"); strings.Contains(out, hook) {
		t.Fatal("the endpoint outlived its delete")
	}
}
