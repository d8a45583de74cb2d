package main

// The admin commands on the real stack, logged in through the device flow in chromium:
// carol (keyward-admin) provisions a consumer and its client in Keycloak, sees the
// secret once where the command exists to show it, tests it; bob is refused.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyward/keyward/cli"
	"github.com/keyward/keyward/internal/kctest"
)

func TestCLI_AdminCommands_OnTheRealStack(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": "", "KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128"})
	carol, bob := cliHome(t, app.url), cliHome(t, app.url)
	for user, env := range map[string]map[string]string{"carol": carol, "bob": bob} {
		if code, _, errOut := browserLogin(t, env, user, true); code != 0 {
			t.Fatalf("login %s: %d %q", user, code, errOut)
		}
	}
	group, consumer, clientID := kctest.Unique("cli-acl"), kctest.Unique("cli-shop"), kctest.Unique("cli-orders")

	run := func(t *testing.T, env map[string]string, want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := keywardCLI(t, env, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d; %q", args, code, want, errOut)
		}
		return out, errOut
	}

	t.Run("WhoamiAdmin", func(t *testing.T) {
		for env, admin := range map[*map[string]string]bool{&carol: true, &bob: false} {
			out, _ := run(t, *env, 0, "whoami", "-o", "json")
			var id identity
			if json.Unmarshal([]byte(out), &id) != nil || id.Admin != admin {
				t.Fatalf("whoami: %q", out)
			}
		}
	})

	t.Run("ACLGroups", func(t *testing.T) {
		run(t, carol, 0, "acl-groups", "create", group, "--description", "made by the CLI test")
		out, _ := run(t, carol, 0, "acl-groups", "list", "-o", "json")
		var groups []map[string]any
		if json.Unmarshal([]byte(out), &groups) != nil {
			t.Fatalf("acl-groups list -o json: %q", out)
		}
		names := []string{}
		for _, g := range groups {
			names = append(names, g["name"].(string))
		}
		if !strings.Contains(strings.Join(names, ","), group) || !strings.Contains(strings.Join(names, ","), "analytics") {
			t.Fatalf("acl groups %v", names)
		}
	})

	var secret string
	t.Run("ConsumerClientSecretTest", func(t *testing.T) {
		out, _ := run(t, carol, 0, "consumers", "create", "--name", consumer, "--acl-group", "analytics", "--acl-group", group, "-o", "json")
		var c map[string]any
		if json.Unmarshal([]byte(out), &c) != nil || c["name"] != consumer || len(kctest.Strings(c["acl_groups"])) != 2 {
			t.Fatalf("consumer: %q", out)
		}
		if out, _ := run(t, carol, 0, "consumers", "list"); !strings.Contains(out, consumer) {
			t.Fatalf("consumers list: %q", out)
		}

		out, errOut := run(t, carol, 0, "clients", "create", "--consumer", consumer, "--client-id", clientID)
		secret = strings.TrimSuffix(out, "\n")
		remember(secret)
		if secret == "" || strings.ContainsAny(secret, " \n") {
			t.Fatalf("clients create: stdout %q", out)
		}
		noSecretIn(t, "clients create's stderr", errOut, secret)
		if !strings.Contains(errOut, clientID) || !strings.Contains(errOut, "shown this once") {
			t.Fatalf("clients create's stderr: %q", errOut)
		}
		for _, args := range [][]string{{"clients", "list", "--consumer", consumer}, {"clients", "show", clientID, "-o", "json"}, {"clients", "list", "-o", "json"}} {
			out, errOut := run(t, carol, 0, args...)
			noSecretIn(t, strings.Join(args, " "), out+errOut, secret)
			if !strings.Contains(out, clientID) {
				t.Fatalf("%v: %q", args, out)
			}
		}
		if out, _ := run(t, carol, 0, "clients", "secret", "show", clientID); out != secret+"\n" {
			t.Fatal("secret show does not print the secret alone")
		}

		// test reads the secret from stdin or a file, never a flag.
		code, out, errOut := cliIn(t, carol, secret+"\n", "clients", "test", clientID)
		if code != 0 || !strings.Contains(out, "valid") || !strings.Contains(out, "yes") || !strings.Contains(out, "analytics") {
			t.Fatalf("clients test: %d %q %q", code, out, errOut)
		}
		noSecretIn(t, "clients test", out+errOut, secret)
		code, out, _ = cliIn(t, carol, secret, "clients", "test", clientID, "-o", "json")
		var res map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res["valid"] != true || res["acl_claim_present"] != true {
			t.Fatalf("clients test -o json: %d %q", code, out)
		}
		wrong := filepath.Join(t.TempDir(), "wrong.secret")
		if err := os.WriteFile(wrong, []byte("not-the-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut = keywardCLI(t, carol, "clients", "test", clientID, "--secret-file", wrong)
		if code != cli.ExitRefused || !strings.Contains(errOut, "refused the secret") {
			t.Fatalf("wrong secret: %d %q", code, errOut)
		}
		oneErrorLine(t, "wrong secret", errOut)
		if code, _, errOut := cliIn(t, carol, "", "clients", "test", clientID); code != cli.ExitUsage || !strings.Contains(errOut, "stdin") {
			t.Fatalf("no secret: %d %q", code, errOut)
		}

		// regenerate: the old secret dies at once.
		file := filepath.Join(t.TempDir(), "orders.secret")
		out, _ = run(t, carol, 0, "clients", "secret", "regenerate", clientID, "--out-file", file)
		b, _ := os.ReadFile(file)
		next := strings.TrimSpace(string(b))
		remember(next)
		if out != "" || next == "" || next == secret || mode(t, file) != 0o600 {
			t.Fatalf("regenerate to a file: stdout %q, mode %o", out, mode(t, file))
		}
		if code, _, _ := cliIn(t, carol, secret, "clients", "test", clientID); code != cli.ExitRefused {
			t.Fatalf("old secret after regenerate: %d", code)
		}
		if code, _, _ := keywardCLI(t, carol, "clients", "test", clientID, "--secret-file", file); code != 0 {
			t.Fatalf("new secret: %d", code)
		}
		// disabled: Keycloak refuses the client tokens.
		run(t, carol, 0, "clients", "disable", clientID)
		if code, _, _ := keywardCLI(t, carol, "clients", "test", clientID, "--secret-file", file); code != cli.ExitRefused {
			t.Fatalf("disabled client: %d", code)
		}
		secret = next
	})

	t.Run("KeysForAUser", func(t *testing.T) {
		name := kctest.Unique("cli-for-alice")
		out, _ := run(t, carol, 0, "keys", "create", "--name", name, "--owner", "alice", "-o", "json")
		var k map[string]any
		if json.Unmarshal([]byte(out), &k) != nil || k["owner_username"] != "alice" || !strings.HasPrefix(k["key"].(string), "kw_") {
			t.Fatalf("create for alice: %q", out)
		}
		remember(k["key"].(string))
		if out, _ := run(t, carol, 0, "keys", "list", "--owner", "alice"); !strings.Contains(out, "OWNER") || !strings.Contains(out, name) {
			t.Fatalf("list --owner alice: %q", out)
		}
		// Without --owner, a name is carol's own: alice's key is not found by it.
		run(t, carol, cli.ExitError, "keys", "show", name)
		run(t, carol, 0, "keys", "disable", name, "--owner", "alice")
		run(t, carol, 0, "keys", "revoke", name, "--owner", "alice")
	})

	t.Run("Webhooks", func(t *testing.T) {
		rcv := newHookReceiver(t)
		hook := rcv.URL + "/cli"
		// Refused input names the flag, and nothing is registered.
		_, errOut := run(t, carol, cli.ExitUsage, "webhooks", "create", "--url", "http://169.254.169.254/x", "--event", "key.nope")
		if !strings.Contains(errOut, "--url") || !strings.Contains(errOut, "--event") {
			t.Fatalf("refused create: %q", errOut)
		}
		secretOut, _ := run(t, carol, 0, "webhooks", "create", "--url", hook, "--event", "key.created")
		whsec := strings.TrimSpace(secretOut)
		remember(whsec)
		wh, err := standardwebhooks.NewWebhook(whsec)
		if err != nil || !strings.HasPrefix(whsec, "whsec_") {
			t.Fatalf("create printed %q: %v", secretOut, err)
		}
		out, _ := run(t, carol, 0, "webhooks", "list", "-o", "json")
		if !strings.Contains(out, hook) || strings.Contains(out, whsec) {
			t.Fatalf("list: the endpoint missing or its secret shown: %s", out)
		}
		keyID, _ := app.createKey(t, app.kc.Login(t, "alice"), kctest.Unique("cli-hooked"))
		first, _ := rcv.await(t, "key.created", keyID)
		if err := wh.Verify(first.body, first.header); err != nil {
			t.Fatalf("the printed secret does not verify the delivery: %v", err)
		}
		var deliveries []map[string]any
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			out, _ = run(t, carol, 0, "webhooks", "deliveries", hook, "-o", "json")
			deliveries = nil
			if json.Unmarshal([]byte(out), &deliveries) != nil {
				t.Fatalf("deliveries -o json: %q", out)
			}
			if len(deliveries) == 1 && deliveries[0]["state"] == "succeeded" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deliveries: %s", out)
			}
		}
		if table, _ := run(t, carol, 0, "webhooks", "deliveries", hook); !strings.Contains(table, "succeeded") || !strings.Contains(table, "204") {
			t.Fatalf("deliveries table: %q", table)
		}
		run(t, carol, 0, "webhooks", "redeliver", hook, deliveries[0]["id"].(string))
		for deadline := time.Now().Add(30 * time.Second); rcv.count(first.header.Get("webhook-id")) < 2; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the redelivery never came")
			}
		}
		rotatedOut, errOut := run(t, carol, 0, "webhooks", "secret", "rotate", hook, "--overlap", "2h")
		rotated := strings.TrimSpace(rotatedOut)
		remember(rotated)
		if rotated == whsec || !strings.HasPrefix(rotated, "whsec_") || !strings.Contains(errOut, "the old one signs too until") {
			t.Fatalf("rotate: %q / %q", rotatedOut, errOut)
		}
		run(t, carol, cli.ExitUsage, "webhooks", "secret", "rotate", hook, "--overlap", "90m")
		run(t, carol, 0, "webhooks", "update", hook, "--event", "key.*", "--description", "from the CLI")
		run(t, carol, 0, "webhooks", "disable", hook)
		if out, _ := run(t, carol, 0, "webhooks", "show", hook); !strings.Contains(out, "key.*") || !strings.Contains(out, "disabled") {
			t.Fatalf("show after update and disable: %q", out)
		}
		code, out, errOut := keywardCLI(t, bob, "webhooks", "list")
		if code != cli.ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
			t.Fatalf("bob webhooks list: exit %d, %q %q", code, out, errOut)
		}
		run(t, carol, 0, "webhooks", "delete", hook)
		if out, _ := run(t, carol, 0, "webhooks", "list", "-o", "json"); strings.Contains(out, hook) {
			t.Fatal("the endpoint outlived its delete")
		}
	})

	t.Run("BobIsRefused", func(t *testing.T) {
		for _, args := range [][]string{
			{"consumers", "list"}, {"consumers", "create", "--name", consumer + "-bob"}, {"clients", "list"},
			{"clients", "secret", "show", clientID}, {"acl-groups", "list"}, {"acl-groups", "delete", group},
			{"keys", "list", "--owner", "alice"}, {"keys", "create", "--name", "x", "--owner", "alice"},
		} {
			code, out, errOut := keywardCLI(t, bob, args...)
			if code != cli.ExitRefused || out != "" || !strings.HasPrefix(errOut, "keyward: refused: ") {
				t.Fatalf("bob %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
			oneErrorLine(t, "bob", errOut)
			noSecretIn(t, "bob", errOut, secret)
		}
	})

	t.Run("Cleanup", func(t *testing.T) {
		run(t, carol, cli.ExitError, "consumers", "delete", consumer) // it has a client: refused without --cascade
		run(t, carol, 0, "consumers", "delete", consumer, "--cascade")
		if out, _ := run(t, carol, 0, "clients", "list", "-o", "json"); strings.Contains(out, clientID) {
			t.Fatal("the client outlived its consumer")
		}
		run(t, carol, 0, "acl-groups", "delete", group)
	})
}
