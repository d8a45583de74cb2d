package config

import (
	"strings"
	"testing"
)

// The table itself: what Load, -h and Variables read must be whole and coherent.
func TestSettings_EveryEntryWhole_DefaultsValid_SecretsWithoutDefault(t *testing.T) {
	var c Config
	seen := map[string]bool{}
	for _, s := range c.settings() {
		if seen[s.env] || !strings.HasPrefix(s.env, "KEYWARD_") || s.help == "" || s.v == nil {
			t.Errorf("%s: listed twice, misnamed, without help or without a destination", s.env)
		}
		seen[s.env] = true
		if s.secret && s.def != "" {
			t.Errorf("%s is secret but has a default: -h would print it", s.env)
		}
		if s.def == "" {
			continue
		}
		s.v.load(s.def)
		if ok, same := s.v.reads(s.def); !ok || !same || !s.v.valid() {
			t.Errorf("%s: its default %q does not read as its kind, or is out of its bounds", s.env, s.def)
		}
	}
}

// A flag wins over the environment even when it says the default: the flag set's
// defaults are the table's, not the environment's.
func TestLoad_FlagSayingTheDefault_StillWinsOverTheEnvironment(t *testing.T) {
	c, err := Load([]string{"-rate-limit-backend=memory", "-token-cache=true"},
		env(map[string]string{"KEYWARD_RATE_LIMIT_BACKEND": "redis", "KEYWARD_TOKEN_CACHE": "false", "KEYWARD_LOG_LEVEL": "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateBackend != "memory" || !c.TokenCache || c.LogLevel != "debug" {
		t.Fatalf("backend %q, token cache %v, log level %q", c.RateBackend, c.TokenCache, c.LogLevel)
	}
}

// No message quotes a secret, whatever odd value it holds and whatever else is wrong.
func TestValidate_SecretsNeverQuoted(t *testing.T) {
	for _, odd := range []string{"hunter2", " hunter2 ", "hunter2://x", "postgres://u:hunter2@h/db?x=%zz", "redis://:hunter2@h/0/1",
		"smtp://u:hunter2@h/p?q=1", "mysql://u:hunter2@db/k", "%zzhunter2"} {
		kv := []string{"KEYWARD_RATE_LIMIT_BACKEND", "redis", "KEYWARD_LOG_LEVEL", "loud"}
		for _, name := range Secrets() {
			kv = append(kv, name, odd)
		}
		_, err := loadConfig(nil, env(with(valid(t), kv...)))
		if err == nil {
			t.Fatalf("%q everywhere accepted", odd)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: a message repeats a secret:\n%v", odd, err)
		}
	}
}

// Retention is whole days, 400 by default; 0 keeps for ever; anything else below 1 day,
// a fraction or a word is refused, each named.
func TestRetention_DefaultsZeroAndBounds(t *testing.T) {
	c, err := loadConfig(nil, env(valid(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuditRetentionDays != 400 || c.UsageRetentionDays != 400 {
		t.Fatalf("defaults: audit %d days, usage %d days; want 400 each", c.AuditRetentionDays, c.UsageRetentionDays)
	}
	c, err = loadConfig(nil, env(with(valid(t), "KEYWARD_AUDIT_RETENTION", "0", "KEYWARD_USAGE_RETENTION", "1")))
	if err != nil || c.AuditRetentionDays != 0 || c.UsageRetentionDays != 1 {
		t.Fatalf("0 and 1: %d, %d, %v", c.AuditRetentionDays, c.UsageRetentionDays, err)
	}
	for _, bad := range []string{"-1", "1.5", "400d", "forever", "36501"} {
		_, err := loadConfig(nil, env(with(valid(t), "KEYWARD_AUDIT_RETENTION", bad, "KEYWARD_USAGE_RETENTION", bad)))
		for _, name := range []string{"KEYWARD_AUDIT_RETENTION", "KEYWARD_USAGE_RETENTION"} {
			want := name + ` "` + bad + `" must be a whole number between 0 and 36500`
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s=%s: %v; want %s", name, bad, err, want)
			}
		}
	}
}
