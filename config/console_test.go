package config

import (
	"strings"
	"testing"
	"time"
)

func TestConsoleSettings_DefaultsAndOff(t *testing.T) {
	c, err := loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConsoleClientSecret != "" || c.ConsoleClientID != "keyward-console" || c.ConsoleURL != c.PublicURL ||
		c.ConsoleSessionIdle != 30*time.Minute || c.ConsoleSessionMax != 8*time.Hour || c.ConsoleRefresh != time.Minute {
		t.Fatalf("console defaults: %+v", c)
	}
}

func TestConsoleSettings_Problems_NamedAllAtOnce(t *testing.T) {
	_, err := loadConfig(nil, env(map[string]string{
		"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
		"KEYWARD_CONSOLE_CLIENT_SECRET": "console-secret", "KEYWARD_CONSOLE_CLIENT_ID": "keyward",
		"KEYWARD_CONSOLE_URL": "ftp://x", "KEYWARD_CONSOLE_SESSION_IDLE": "9h", "KEYWARD_CONSOLE_SESSION_MAX": "2h",
		"KEYWARD_CONSOLE_REFRESH": "soon",
	}))
	if err == nil {
		t.Fatal("bad console settings accepted")
	}
	for _, want := range []string{"KEYWARD_CONSOLE_CLIENT_ID \"keyward\" must be a client of its own", "KEYWARD_CONSOLE_URL",
		"KEYWARD_CONSOLE_SESSION_IDLE 9h0m0s must not be longer", "KEYWARD_CONSOLE_REFRESH \"soon\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "console-secret") {
		t.Error("a message repeats the console's secret")
	}
}

func TestConsoleSettings_Accepted(t *testing.T) {
	c, err := loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
		"KEYWARD_CONSOLE_CLIENT_SECRET": "x", "KEYWARD_CONSOLE_URL": "https://console.example/", "KEYWARD_CONSOLE_REFRESH": "0s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConsoleURL != "https://console.example" || c.ConsoleRefresh != 0 {
		t.Fatalf("console settings: %q %v", c.ConsoleURL, c.ConsoleRefresh)
	}
}
