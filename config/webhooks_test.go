package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWebhookSettings_DefaultsAndValues(t *testing.T) {
	base := map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a", "KEYWARD_DATA_DIR": t.TempDir()}
	c, err := loadConfig(nil, env(base))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.WebhookAllowedNetworks) != 0 || c.WebhookTimeout != 10*time.Second {
		t.Fatalf("defaults: networks %v, timeout %v; want none and 10s", c.WebhookAllowedNetworks, c.WebhookTimeout)
	}
	base["KEYWARD_WEBHOOK_ALLOWED_NETWORKS"] = " 127.0.0.0/8, ::1/128 ,10.1.2.3"
	base["KEYWARD_WEBHOOK_TIMEOUT"] = "3s"
	c, err = loadConfig(nil, env(base))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.WebhookAllowedNetworks, []string{"127.0.0.0/8", "::1/128", "10.1.2.3"}) || c.WebhookTimeout != 3*time.Second {
		t.Fatalf("given: %v %v", c.WebhookAllowedNetworks, c.WebhookTimeout)
	}
}

func TestWebhookSettings_BadValues_Named(t *testing.T) {
	for name, value := range map[string]string{
		"KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,localhost",
		"KEYWARD_WEBHOOK_TIMEOUT":          "2h",
	} {
		_, err := loadConfig(nil, env(map[string]string{"KEYWARD_CLIENT_SECRET": "s", "KEYWARD_ADMIN_CLIENT_SECRET": "a",
			"KEYWARD_DATA_DIR": t.TempDir(), name: value}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, value, err)
		}
	}
}
