package config

import (
	"strings"
	"testing"
	"time"
)

// The key-notification settings: the listener's own URL (a secret, never repeated)
// and the age limit of remembered keys.
func TestConfig_KeyNotificationSettings(t *testing.T) {
	c, err := loadConfig(nil, env(valid(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyStateMaxAge != 60*time.Second || c.DatabaseListenURL != "" {
		t.Fatalf("defaults: max age %v, listen URL set %v", c.KeyStateMaxAge, c.DatabaseListenURL != "")
	}
	c, err = loadConfig(nil, env(with(valid(t), "KEYWARD_DATABASE_URL", "postgres://u:p@pgbouncer:6432/k",
		"KEYWARD_DATABASE_LISTEN_URL", "postgres://u:p@postgres:5432/k", "KEYWARD_KEY_STATE_MAX_AGE", "5s")))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyStateMaxAge != 5*time.Second || c.DatabaseListenURL != "postgres://u:p@postgres:5432/k" {
		t.Fatalf("read: max age %v, listen URL as given %v", c.KeyStateMaxAge, c.DatabaseListenURL == "postgres://u:p@postgres:5432/k")
	}
	for _, tc := range []struct {
		name     string
		settings []string
		want     string
	}{
		{"listen URL not PostgreSQL", []string{"KEYWARD_DATABASE_URL", "postgres://db/k",
			"KEYWARD_DATABASE_LISTEN_URL", "mysql://u:hunter2@db/k"}, "KEYWARD_DATABASE_LISTEN_URL must start with postgres://"},
		{"listen URL for a SQLite store", []string{"KEYWARD_DATABASE_LISTEN_URL", "postgres://u:hunter2@db/k"},
			"KEYWARD_DATABASE_LISTEN_URL is set but KEYWARD_DATABASE_URL is not PostgreSQL"},
		{"max age not a duration", []string{"KEYWARD_KEY_STATE_MAX_AGE", "a minute"}, "KEYWARD_KEY_STATE_MAX_AGE"},
		{"max age zero", []string{"KEYWARD_KEY_STATE_MAX_AGE", "0s"}, "KEYWARD_KEY_STATE_MAX_AGE"},
		{"max age too long", []string{"KEYWARD_KEY_STATE_MAX_AGE", "2h"}, "KEYWARD_KEY_STATE_MAX_AGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(nil, env(with(valid(t), tc.settings...)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error saying %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error repeats the URL's password:\n%v", err)
			}
		})
	}
}
