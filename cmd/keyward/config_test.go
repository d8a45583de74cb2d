package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig_Defaults(t *testing.T) {
	c, err := loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" ||
		c.KeycloakURL != "http://127.0.0.1:8180" || c.Realm != "keyward" || c.KeycloakTimeout != 10*time.Second ||
		c.SigningKeyFile != "keyward-data/signing-key.pem" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfig_FlagsOverrideEnvironment(t *testing.T) {
	c, err := loadConfig([]string{"-realm", "other", "-listen-addr", "127.0.0.1:9999"},
		env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a", "KEYWARD_REALM": "fromenv"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "other" || c.PublicURL != "http://127.0.0.1:9999" {
		t.Fatalf("got realm %q public %q", c.Realm, c.PublicURL)
	}
}

func TestLoadConfig_ReportsEveryProblemAtOnce(t *testing.T) {
	_, err := loadConfig(nil, env(map[string]string{
		"KEYWARD_LISTEN_ADDR":      "nonsense",
		"KEYWARD_KEYCLOAK_URL":     "ftp://x",
		"KEYWARD_DATABASE_URL":     "mysql://db",
		"KEYWARD_KEY_PEPPER":       "short",
		"KEYWARD_KEYCLOAK_TIMEOUT": "forever",
		"KEYWARD_LOG_LEVEL":        "loud",
		"KEYWARD_LOG_FORMAT":       "xml",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"KEYWARD_LISTEN_ADDR", "KEYWARD_KEYCLOAK_URL", "KEYWARD_DATABASE_URL",
		"KEYWARD_CLIENT_SECRET", "KEYWARD_KEY_PEPPER", "KEYWARD_KEYCLOAK_TIMEOUT", "KEYWARD_LOG_LEVEL", "KEYWARD_LOG_FORMAT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Error("the error repeats the pepper's value")
	}
}

// TestMain_BadConfiguration_ExitsNonZero runs the real main in a child process.
func TestMain_BadConfiguration_ExitsNonZero(t *testing.T) {
	if os.Getenv("KEYWARD_RUN_MAIN") == "1" {
		os.Args = []string{"keyward"}
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMain_BadConfiguration_ExitsNonZero$")
	cmd.Env = append(os.Environ(), "KEYWARD_RUN_MAIN=1", "KEYWARD_CLIENT_SECRET=", "KEYWARD_LOG_LEVEL=loud")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want status 2; output:\n%s", err, out)
	}
	for _, want := range []string{"invalid configuration", "KEYWARD_CLIENT_SECRET is required", "KEYWARD_LOG_LEVEL"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadConfig_TopLevelACLGroups_OnlyWithExplicitOptIn(t *testing.T) {
	base := map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a", "KEYWARD_ACL_PARENT_GROUP": "/"}
	_, err := loadConfig(nil, env(base))
	if err == nil {
		t.Fatal("KEYWARD_ACL_PARENT_GROUP=/ accepted without KEYWARD_ACL_ALLOW_TOP_LEVEL")
	}
	for _, want := range []string{"KEYWARD_ACL_PARENT_GROUP", "KEYWARD_ACL_ALLOW_TOP_LEVEL", "every top-level group", "carry roles"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%v", want, err)
		}
	}
	base["KEYWARD_ACL_ALLOW_TOP_LEVEL"] = "maybe"
	if _, err := loadConfig(nil, env(base)); err == nil || !strings.Contains(err.Error(), `KEYWARD_ACL_ALLOW_TOP_LEVEL "maybe" must be true or false`) {
		t.Fatalf("a non-boolean opt-in: %v", err)
	}
	base["KEYWARD_ACL_ALLOW_TOP_LEVEL"] = "true"
	c, err := loadConfig(nil, env(base))
	if err != nil || c.ACLParentGroup != "/" || !c.ACLAllowTopLevel {
		t.Fatalf("with the opt-in: %+v %v", c.ACLAllowTopLevel, err)
	}
	c, err = loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a"}))
	if err != nil || c.ACLParentGroup != "keyward-acl" || c.ACLAllowTopLevel {
		t.Fatalf("defaults: parent %q, allow %v, %v", c.ACLParentGroup, c.ACLAllowTopLevel, err)
	}
}

func TestLoadConfig_BoundaryDefaults(t *testing.T) {
	c, err := loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
		"KEYWARD_ADMIN_ROLE": "kw-admins", "KEYWARD_RATE_LIMIT_REQUESTS": "120"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audience != c.ClientID || c.Audience != "keyward" {
		t.Fatalf("audience %q: management tokens must be meant for Keyward by default", c.Audience)
	}
	if strings.Join(c.DenyRoles, ",") != "realm-admin,kw-admins" {
		t.Fatalf("deny roles %v: the default names the configured admin role", c.DenyRoles)
	}
	if c.AdminClientID != "keyward-management" || c.MaxKeysPerUser != 50 || c.OwnerMaxRate != 1200 ||
		c.FailureBudget != 30 || c.FailureWindow != time.Minute {
		t.Fatalf("defaults: admin client %q, max keys %d, owner max rate %d, failure budget %d per %v",
			c.AdminClientID, c.MaxKeysPerUser, c.OwnerMaxRate, c.FailureBudget, c.FailureWindow)
	}
}

func TestLoadConfig_BoundaryProblems(t *testing.T) {
	_, err := loadConfig(nil, env(map[string]string{
		"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
		"KEYWARD_ADMIN_CLIENT_ID":         "keyward", // the exchange client itself
		"KEYWARD_DENY_ROLES":              "realm-admin,:x,broker:",
		"KEYWARD_MAX_KEYS_PER_USER":       "0",
		"KEYWARD_OWNER_MAX_RATE_REQUESTS": "-1",
		"KEYWARD_EXCHANGE_FAILURE_BUDGET": "lots",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"KEYWARD_ADMIN_CLIENT_ID and KEYWARD_CLIENT_ID are both", `":x"`, `"broker:"`,
		"KEYWARD_MAX_KEYS_PER_USER", "KEYWARD_OWNER_MAX_RATE_REQUESTS", "KEYWARD_EXCHANGE_FAILURE_BUDGET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if _, err := loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s"})); err == nil ||
		!strings.Contains(err.Error(), "KEYWARD_ADMIN_CLIENT_SECRET is required") {
		t.Fatalf("no admin secret: %v", err)
	}
}
