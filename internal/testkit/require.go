package testkit

import (
	"os"
	"testing"
)

// EnvRequireIntegration set to 1 (as `make test` does) turns a missing integration
// server from a skip into a failure, so that CI cannot pass by skipping.
const EnvRequireIntegration = "KEYWARD_REQUIRE_INTEGRATION"

// Require returns the value of the environment variable env, which names the server
// an integration test needs (what, e.g. "PostgreSQL"). When it is unset the test is
// skipped, or fails when KEYWARD_REQUIRE_INTEGRATION=1; either message names the
// variable and says how to get a server (how).
func Require(t testing.TB, env, what, how string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("%s tests required (%s=1) but %s is not set: %s", what, EnvRequireIntegration, env, how)
		}
		t.Skipf("%s tests skipped: %s is not set; %s", what, env, how)
	}
	return v
}
