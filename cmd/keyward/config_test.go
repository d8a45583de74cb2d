package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/provisioning"
)

// The configuration's own tests are in config/; these hold main to it.

// TestMain_BadConfiguration_ExitsNonZero runs the real main in a child process.
func TestMain_BadConfiguration_ExitsNonZero(t *testing.T) {
	if os.Getenv("KEYWARD_RUN_MAIN") == "1" {
		os.Args = []string{"keyward", "server"}
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

// TestMain_Help_ExitsZero: -h prints the flags and is not a failure, and shows no
// value of the environment as a flag's default (the secrets are there).
func TestMain_Help_ExitsZero(t *testing.T) {
	if os.Getenv("KEYWARD_RUN_MAIN_HELP") == "1" {
		os.Args = []string{"keyward", "server", "-h"}
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMain_Help_ExitsZero$")
	cmd.Env = append(os.Environ(), "KEYWARD_RUN_MAIN_HELP=1", "KEYWARD_LOG_LEVEL=from-the-env")
	for _, name := range config.Secrets() {
		cmd.Env = append(cmd.Env, name+"=hunter2-"+name)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("exit %v, want 0; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "-listen-addr") || strings.Contains(string(out), "invalid configuration") {
		t.Fatalf("usage not printed:\n%s", out)
	}
	if strings.Contains(string(out), "hunter2") || strings.Contains(string(out), "from-the-env") {
		t.Fatalf("the usage shows the environment's values:\n%s", out)
	}
}

// TestConfig_WhatWiringRefuses_loadConfigRefusesFirst holds the configuration and the
// constructors of server.New together: a value that a constructor refuses (or panics on) is
// a problem config.LoadValid names, so main never wires it; a value config.LoadValid accepts, the
// constructor takes.
func TestConfig_WhatWiringRefuses_loadConfigRefusesFirst(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	type wire func(config.Config) error
	redisURL := func(c config.Config) error { _, err := redis.ParseURL(c.RedisURL); return err }
	denylist := func(c config.Config) error { _, err := exchange.NewRoleDenylist(c.DenyRoles); return err }
	// provisioning.New takes the ACL parent and the redirect hosts.
	aclParent := func(c config.Config) error {
		_, err := provisioning.New(nil, nil, provisioning.Config{ParentGroup: c.ACLParentGroup, AllowTopLevel: c.ACLAllowTopLevel,
			RedirectHosts: c.ClientRedirectHosts})
		return err
	}
	proxies := func(c config.Config) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("handlers.New panicked: %v", r)
			}
		}()
		handlers.New(handlers.Config{Log: zap.NewNop(), TrustedProxies: c.TrustedProxies})
		return nil
	}
	pepper := func(c config.Config) error { _, err := exchange.NewHasher([]byte(c.KeyPepper)); return err }
	signingKey := func(c config.Config) error { _, err := exchange.LoadOrCreateSigningKey(c.SigningKeyFile); return err }
	dataDir := func(c config.Config) error { _, err := exchange.PrepareDataDir(c.DataDir); return err }

	cases := []struct {
		setting, value string
		extra          []string
		wire           wire
		refused        bool // by the constructor: the case shows what wiring used to discover
	}{
		{"KEYWARD_REDIS_URL", "redis://h:6379/zero", []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}, redisURL, true},
		{"KEYWARD_REDIS_URL", "redis://h:6379/0/1", []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}, redisURL, true},
		{"KEYWARD_REDIS_URL", "redis://h:6379/0?colour=red", []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}, redisURL, true},
		{"KEYWARD_REDIS_URL", "redis://h/?dial_timeout=soon", []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}, redisURL, true},
		{"KEYWARD_REDIS_URL", "ftp://h", []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}, redisURL, true},
		{"KEYWARD_REDIS_URL", "rediss://u:p@h:6380/2?dial_timeout=3s", []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}, redisURL, false},
		{"KEYWARD_DENY_ROLES", ":x", nil, denylist, true},
		{"KEYWARD_DENY_ROLES", "realm-admin,broker:", nil, denylist, true},
		{"KEYWARD_DENY_ROLES", "realm-admin,broker:*,a:b:c", nil, denylist, false},
		{"KEYWARD_ACL_PARENT_GROUP", "/", nil, aclParent, true},
		{"KEYWARD_ACL_PARENT_GROUP", "Keyward-ACL", nil, aclParent, true},
		{"KEYWARD_ACL_PARENT_GROUP", "a/b", nil, aclParent, true},
		{"KEYWARD_ACL_PARENT_GROUP", "..", nil, aclParent, true},
		{"KEYWARD_ACL_PARENT_GROUP", strings.Repeat("a", 65), nil, aclParent, true},
		{"KEYWARD_ACL_PARENT_GROUP", strings.Repeat("a", 64), nil, aclParent, false},
		{"KEYWARD_ACL_PARENT_GROUP", "team.acl-1", nil, aclParent, false},
		{"KEYWARD_ACL_PARENT_GROUP", "/", []string{"KEYWARD_ACL_ALLOW_TOP_LEVEL", "true"}, aclParent, false},
		{"KEYWARD_CLIENT_REDIRECT_HOSTS", "https://app.example.com", nil, aclParent, true},
		{"KEYWARD_CLIENT_REDIRECT_HOSTS", "app.example.com:443", nil, aclParent, true},
		{"KEYWARD_CLIENT_REDIRECT_HOSTS", "*.com", nil, aclParent, true},
		{"KEYWARD_CLIENT_REDIRECT_HOSTS", "app.example.com, *.apps.example.org, 127.0.0.1:8765", nil, aclParent, false},
		{"KEYWARD_TRUSTED_PROXIES", "fe80::1%eth0", nil, proxies, true},
		{"KEYWARD_TRUSTED_PROXIES", "10.0.0.0/33", nil, proxies, true},
		{"KEYWARD_TRUSTED_PROXIES", "proxy.internal", nil, proxies, true},
		{"KEYWARD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1, ::1, 2001:db8::/32", nil, proxies, false},
		{"KEYWARD_KEY_PEPPER", "short", nil, pepper, true},
		{"KEYWARD_KEY_PEPPER", strings.Repeat("p", 31), nil, pepper, true},
		{"KEYWARD_KEY_PEPPER", strings.Repeat("p", 32), nil, pepper, false},
		{"KEYWARD_SIGNING_KEY_FILE", tmp, nil, signingKey, true},
		{"KEYWARD_SIGNING_KEY_FILE", filepath.Join(file, "key.pem"), nil, signingKey, true},
		{"KEYWARD_SIGNING_KEY_FILE", filepath.Join(tmp, "keys", "new.pem"), nil, signingKey, false},
		{"KEYWARD_DATA_DIR", file, nil, dataDir, true},
		{"KEYWARD_DATA_DIR", filepath.Join(file, "data"), nil, dataDir, true},
		{"KEYWARD_DATA_DIR", filepath.Join(tmp, "data", "new"), nil, dataDir, false},
	}
	for _, tc := range cases {
		t.Run(tc.setting+"="+tc.value, func(t *testing.T) {
			settings := map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
				"KEYWARD_DATA_DIR": filepath.Join(t.TempDir(), "data"), tc.setting: tc.value}
			for i := 0; i+1 < len(tc.extra); i += 2 {
				settings[tc.extra[i]] = tc.extra[i+1]
			}
			cfg, err := config.LoadValid(nil, func(k string) string { return settings[k] })
			wireErr := tc.wire(cfg)
			if (wireErr != nil) != tc.refused {
				t.Fatalf("the constructor: %v, want refused=%v", wireErr, tc.refused)
			}
			switch {
			case wireErr != nil && err == nil:
				t.Fatalf("config.LoadValid accepted what wiring refuses (%v)", wireErr)
			case wireErr != nil && !strings.Contains(err.Error(), tc.setting):
				t.Fatalf("the refusal does not name %s:\n%v", tc.setting, err)
			case wireErr == nil && err != nil:
				t.Fatalf("config.LoadValid refused what wiring takes: %v", err)
			}
		})
	}
}
