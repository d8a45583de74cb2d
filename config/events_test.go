package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEventsConfig_Defaults(t *testing.T) {
	c, err := loadConfig(nil, env(valid(t)))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Events
	if e.PollInterval != 10*time.Second || e.OnCredentialReset != "none" || e.SMTPURL != "" || e.LeakAction != "revoke" ||
		e.ReminderInterval != 15*time.Minute || e.LeakReporterKeysFile != "" || !c.TokenCache {
		t.Fatalf("defaults: %+v, token cache %v", e, c.TokenCache)
	}
}

func TestEventsConfig_EveryProblemNamed_NoPassword(t *testing.T) {
	_, err := loadConfig(nil, env(with(valid(t),
		"KEYWARD_EVENTS_POLL_INTERVAL", "soon",
		"KEYWARD_REMINDER_INTERVAL", "48h",
		"KEYWARD_ON_CREDENTIAL_RESET", "revoke",
		"KEYWARD_LEAK_ACTION", "ignore",
		"KEYWARD_SMTP_URL", "http://mailer:hunter2hunter2@mail.example.test",
		"KEYWARD_LEAK_REPORTER_KEYS_FILE", filepath.Join(t.TempDir(), "absent.pem"),
	)))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, name := range []string{"KEYWARD_EVENTS_POLL_INTERVAL", "KEYWARD_REMINDER_INTERVAL", "KEYWARD_ON_CREDENTIAL_RESET",
		"KEYWARD_LEAK_ACTION", "KEYWARD_SMTP_URL", "KEYWARD_MAIL_FROM", "KEYWARD_LEAK_REPORTER_KEYS_FILE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error repeats the SMTP password:\n%v", err)
	}
}

func TestEventsConfig_SMTPURLs(t *testing.T) {
	for url, ok := range map[string]bool{
		"smtp://mail.example.test":                  true,
		"smtp://user:pass@mail.example.test:587":    true,
		"smtps://mail.example.test":                 true,
		"smtp://mail.example.test/path":             false,
		"smtp://mail.example.test?tls=off":          false,
		"smtp://":                                   false,
		"mail.example.test":                         false,
		"smtps://user:p%40ss@mail.example.test:465": true,
	} {
		_, err := loadConfig(nil, env(with(valid(t), "KEYWARD_SMTP_URL", url, "KEYWARD_MAIL_FROM", "keyward@example.test")))
		if (err == nil) != ok {
			t.Errorf("%s: err = %v, want ok=%v", url, err, ok)
		}
	}
}
