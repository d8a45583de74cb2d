package config

import (
	"slices"
	"strings"
	"testing"
)

// Variables is what the deployment files are checked against: each name must be one
// that Load reads (its flag exists), and none listed twice.
func TestVariables_AreTheSettingsLoadReads(t *testing.T) {
	names := Variables()
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			t.Errorf("%s listed twice", name)
		}
		seen[name] = true
		if !strings.HasPrefix(name, "KEYWARD_") {
			t.Errorf("%s does not start with KEYWARD_", name)
		}
		if _, err := Load([]string{"-" + flagName(name) + "=1"}, env(nil)); err != nil {
			t.Errorf("%s: Load has no flag -%s: %v", name, flagName(name), err)
		}
	}
	// Text settings, typed ones and durations alike.
	for _, want := range []string{"KEYWARD_CLIENT_SECRET", "KEYWARD_ADMIN_CLIENT_SECRET", "KEYWARD_DATABASE_URL",
		"KEYWARD_MAX_KEYS_PER_USER", "KEYWARD_TOKEN_CACHE", "KEYWARD_KEYCLOAK_TIMEOUT", "KEYWARD_EXCHANGE_FAILURE_WINDOW"} {
		if !slices.Contains(names, want) {
			t.Errorf("Variables lacks %s", want)
		}
	}
	if _, err := Load([]string{"-no-such-setting=1"}, env(nil)); err == nil {
		t.Error("Load accepted an unknown flag: the check above would prove nothing")
	}
}
