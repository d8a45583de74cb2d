package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// loadConfig is how Keyward starts: Load, then Validate.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c, err := Load(args, getenv)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

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

// valid is a configuration Validate accepts, paths in a directory of the test's own.
func valid(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
		"KEYWARD_DATA_DIR": filepath.Join(t.TempDir(), "data")}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// fixtures: a regular file and a directory that wiring cannot use in the other's place.
func fixtures(t *testing.T) (file, dir string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, dir
}

// TestConfig_WiringRejectedValues_ValidateNamesEach: every value that wiring used to
// discover (redis.ParseURL, NewRoleDenylist, provisioning.New, gin's SetTrustedProxies,
// NewHasher, the data directory and the signing-key file) is a problem Validate names,
// so a configuration with one never reaches wiring.
func TestConfig_WiringRejectedValues_ValidateNamesEach(t *testing.T) {
	file, dir := fixtures(t)
	redisBackend := []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis"}
	cases := []struct {
		name string
		args []string
		kv   []string
		want string
	}{
		{"redis url missing", nil, redisBackend, "KEYWARD_REDIS_URL must be a redis:// or rediss:// URL"},
		{"redis url of another scheme", nil, append(redisBackend, "KEYWARD_REDIS_URL", "unix:///run/redis.sock"), "KEYWARD_REDIS_URL must be a redis://"},
		{"redis url unparsable", nil, append(redisBackend, "KEYWARD_REDIS_URL", "redis://h:6379/%zz"), "KEYWARD_REDIS_URL must be a redis://"},
		{"redis database not a number", nil, append(redisBackend, "KEYWARD_REDIS_URL", "redis://h:6379/zero"), "KEYWARD_REDIS_URL is not a valid redis URL"},
		{"redis path too deep", nil, append(redisBackend, "KEYWARD_REDIS_URL", "redis://h:6379/0/1"), "KEYWARD_REDIS_URL is not a valid redis URL"},
		{"redis option unknown", nil, append(redisBackend, "KEYWARD_REDIS_URL", "redis://h:6379/0?colour=red"), "KEYWARD_REDIS_URL is not a valid redis URL"},
		{"redis option bad duration", nil, append(redisBackend, "KEYWARD_REDIS_URL", "redis://h:6379/0?dial_timeout=soon"), "KEYWARD_REDIS_URL is not a valid redis URL"},
		{"deny role without client", nil, []string{"KEYWARD_DENY_ROLES", ":x"}, `KEYWARD_DENY_ROLES entry ":x"`},
		{"deny role without role", nil, []string{"KEYWARD_DENY_ROLES", "realm-admin, broker:"}, `KEYWARD_DENY_ROLES entry "broker:"`},
		{"acl parent / without opt-in", nil, []string{"KEYWARD_ACL_PARENT_GROUP", "/"}, "KEYWARD_ACL_PARENT_GROUP is / but KEYWARD_ACL_ALLOW_TOP_LEVEL is not true"},
		{"acl parent empty without opt-in", []string{"-acl-parent-group="}, nil, "KEYWARD_ACL_ALLOW_TOP_LEVEL is not true"},
		{"acl parent upper case", nil, []string{"KEYWARD_ACL_PARENT_GROUP", "Keyward-ACL"}, `KEYWARD_ACL_PARENT_GROUP "Keyward-ACL" must be 1..64 of a-z, 0-9`},
		{"acl parent a path", nil, []string{"KEYWARD_ACL_PARENT_GROUP", "a/b"}, `KEYWARD_ACL_PARENT_GROUP "a/b" must be`},
		{"acl parent dot first", nil, []string{"KEYWARD_ACL_PARENT_GROUP", ".."}, `KEYWARD_ACL_PARENT_GROUP ".." must be`},
		{"acl parent too long", nil, []string{"KEYWARD_ACL_PARENT_GROUP", strings.Repeat("a", 65)}, "KEYWARD_ACL_PARENT_GROUP \"aaaa"},
		{"redirect host a URL", nil, []string{"KEYWARD_CLIENT_REDIRECT_HOSTS", "app.example.com, https://shop.example/cb"}, `KEYWARD_CLIENT_REDIRECT_HOSTS: entry "https://shop.example/cb" must be a host name`},
		{"redirect host with a port, not loopback", nil, []string{"KEYWARD_CLIENT_REDIRECT_HOSTS", "app.example.com:8443"}, `KEYWARD_CLIENT_REDIRECT_HOSTS: entry "app.example.com:8443" names a port`},
		{"redirect host wildcard of a top-level domain", nil, []string{"KEYWARD_CLIENT_REDIRECT_HOSTS", "*.com"}, `KEYWARD_CLIENT_REDIRECT_HOSTS: entry "*.com"`},
		{"trusted proxy with a zone", nil, []string{"KEYWARD_TRUSTED_PROXIES", "10.0.0.1, fe80::1%eth0"}, `KEYWARD_TRUSTED_PROXIES entry "fe80::1%eth0"`},
		{"trusted proxy prefix too long", nil, []string{"KEYWARD_TRUSTED_PROXIES", "10.0.0.0/33"}, `KEYWARD_TRUSTED_PROXIES entry "10.0.0.0/33"`},
		{"trusted proxy a host name", nil, []string{"KEYWARD_TRUSTED_PROXIES", "proxy.internal"}, `KEYWARD_TRUSTED_PROXIES entry "proxy.internal"`},
		{"pepper too short", nil, []string{"KEYWARD_KEY_PEPPER", "short"}, "KEYWARD_KEY_PEPPER must be at least 32 bytes (it is 5)"},
		{"signing key file a directory", nil, []string{"KEYWARD_SIGNING_KEY_FILE", dir}, "KEYWARD_SIGNING_KEY_FILE " + strconv.Quote(dir) + " is a directory"},
		{"signing key file under a file", nil, []string{"KEYWARD_SIGNING_KEY_FILE", filepath.Join(file, "sub", "key.pem")}, "KEYWARD_SIGNING_KEY_FILE " + strconv.Quote(filepath.Join(file, "sub", "key.pem")) + " cannot be created"},
		{"data dir a file", nil, []string{"KEYWARD_DATA_DIR", file}, "KEYWARD_DATA_DIR " + strconv.Quote(file) + " is not a directory"},
		{"data dir under a file", nil, []string{"KEYWARD_DATA_DIR", filepath.Join(file, "data")}, "KEYWARD_DATA_DIR " + strconv.Quote(filepath.Join(file, "data")) + " cannot be created"},
		{"listen port out of range", nil, []string{"KEYWARD_LISTEN_ADDR", "127.0.0.1:99999", "KEYWARD_PUBLIC_URL", "http://127.0.0.1:8080"}, `KEYWARD_LISTEN_ADDR "127.0.0.1:99999" is not host:port`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, env(with(valid(t), tc.kv...)))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("the error does not say %q:\n%v", tc.want, err)
			}
			if got := strings.Count(err.Error(), "\n  - "); got != 1 {
				t.Errorf("%d problems for one bad value:\n%v", got, err)
			}
		})
	}
}

func TestConfig_ValuesWiringTakes_Accepted(t *testing.T) {
	file, dir := fixtures(t)
	cases := []struct {
		name string
		args []string
		kv   []string
	}{
		{"redis url", nil, []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis", "KEYWARD_REDIS_URL", "rediss://user:pw@redis.internal:6380/2?dial_timeout=3s"}},
		{"redis url, defaults", nil, []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis", "KEYWARD_REDIS_URL", "redis://"}},
		{"redis url unused by the memory backend", nil, []string{"KEYWARD_REDIS_URL", "nonsense"}},
		{"deny roles", nil, []string{"KEYWARD_DENY_ROLES", "realm-admin, broker:*,,my:client:role"}},
		{"acl parent", nil, []string{"KEYWARD_ACL_PARENT_GROUP", "team.acl-1"}},
		{"acl parent of 64", nil, []string{"KEYWARD_ACL_PARENT_GROUP", strings.Repeat("a", 64)}},
		{"acl parent / with opt-in", nil, []string{"KEYWARD_ACL_PARENT_GROUP", "/", "KEYWARD_ACL_ALLOW_TOP_LEVEL", "true"}},
		{"redirect hosts", nil, []string{"KEYWARD_CLIENT_REDIRECT_HOSTS", "app.example.com, *.apps.example.org,127.0.0.1:8765,[::1]:9000,localhost,"}},
		{"trusted proxies", nil, []string{"KEYWARD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1 ,::1,2001:db8::/32,"}},
		{"pepper of 32", nil, []string{"KEYWARD_KEY_PEPPER", strings.Repeat("p", 32)}},
		{"signing key file, its directory to be created", nil, []string{"KEYWARD_SIGNING_KEY_FILE", filepath.Join(dir, "new", "deeper", "key.pem")}},
		{"signing key file present", nil, []string{"KEYWARD_SIGNING_KEY_FILE", file}},
		{"data dir present", nil, []string{"KEYWARD_DATA_DIR", dir}},
		{"data dir to be created", nil, []string{"KEYWARD_DATA_DIR", filepath.Join(dir, "x", "y")}},
		{"data dir a file, but unused", nil, []string{"KEYWARD_DATA_DIR", file, "KEYWARD_DATABASE_URL", "postgres://db/keyward",
			"KEYWARD_KEY_PEPPER", strings.Repeat("p", 32), "KEYWARD_SIGNING_KEY_FILE", filepath.Join(dir, "key.pem"),
			"KEYWARD_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 32)))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadConfig(tc.args, env(with(valid(t), tc.kv...))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfig_NewChecks_ReportedAllAtOnce_WithoutSecrets(t *testing.T) {
	file, dir := fixtures(t)
	_, err := loadConfig(nil, env(with(valid(t),
		"KEYWARD_RATE_LIMIT_BACKEND", "redis", "KEYWARD_REDIS_URL", "redis://:hunter2hunter2@h/0?nope=1",
		"KEYWARD_DENY_ROLES", ":x",
		"KEYWARD_ACL_PARENT_GROUP", "Not/A/Name",
		"KEYWARD_TRUSTED_PROXIES", "fe80::1%eth0",
		"KEYWARD_KEY_PEPPER", "tooshort",
		"KEYWARD_SIGNING_KEY_FILE", dir,
		"KEYWARD_DATA_DIR", file,
		"KEYWARD_TOKEN_CACHE", "perhaps",
	)))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, name := range []string{"KEYWARD_REDIS_URL", "KEYWARD_DENY_ROLES", "KEYWARD_ACL_PARENT_GROUP", "KEYWARD_TRUSTED_PROXIES",
		"KEYWARD_KEY_PEPPER", "KEYWARD_SIGNING_KEY_FILE", "KEYWARD_DATA_DIR", "KEYWARD_TOKEN_CACHE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s:\n%v", name, err)
		}
	}
	for _, secret := range []string{"hunter2", "tooshort"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error repeats a secret (%s):\n%v", secret, err)
		}
	}
}

// TestConfig_ValidateChecksValues: a Config changed after Load, or built by hand, is
// checked on its values, not on the text Load read.
func TestConfig_ValidateChecksValues(t *testing.T) {
	c, err := loadConfig(nil, env(valid(t)))
	if err != nil {
		t.Fatal(err)
	}
	c.KeycloakTimeout = 0
	c.MaxKeysPerUser = 0
	c.TrustedProxies = []string{"nonsense"}
	c.DenyRoles = append(c.DenyRoles, "client:")
	c.SigningKeyFile = ""
	err = c.Validate()
	for _, want := range []string{"KEYWARD_SIGNING_KEY_FILE is required", `KEYWARD_KEYCLOAK_TIMEOUT "0s" must be a duration between`, `KEYWARD_MAX_KEYS_PER_USER "0" must be a whole number`,
		`KEYWARD_TRUSTED_PROXIES entry "nonsense"`, `KEYWARD_DENY_ROLES entry "client:"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "KEYWARD_CLIENT_SECRET is required") {
		t.Fatalf("the zero Config: %v", err)
	}
}

// TestConfig_NothingPanics_OnAnyValue feeds odd text to every setting.
func TestConfig_NothingPanics_OnAnyValue(t *testing.T) {
	names := Variables()
	for _, odd := range []string{" ", "/", ":", "-1", "0", "99999999999999999999", "%zz", "\x00", "::1%", "a:b:c:", ",,,",
		"redis://[::1", "http://", strings.Repeat("x", 5000), "1e9h", "-5m", "true", "/dev/null/x"} {
		for _, name := range names {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s=%q: panic %v", name, odd, r)
					}
				}()
				c, err := Load(nil, env(with(valid(t), name, odd, "KEYWARD_RATE_LIMIT_BACKEND", "redis")))
				if err != nil {
					t.Errorf("%s=%q: Load failed on a value: %v", name, odd, err)
				}
				_ = c.Validate()
			}()
		}
	}
}

func TestLoadConfig_Help_IsErrHelp_UnknownFlag_IsAnError(t *testing.T) {
	if _, err := Load([]string{"-h"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if _, err := Load([]string{"-no-such-flag"}, env(nil)); err == nil || errors.Is(err, flag.ErrHelp) {
		t.Fatalf("unknown flag: %v", err)
	}
}
