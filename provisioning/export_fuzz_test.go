package provisioning

import "testing"

// NewFuzzService is the service of the unit tests' env (the fake Keycloak, a fresh
// SQLite store, the test clock), for the admin-route fuzz target in package
// provisioning_test: that package may import handlers (this one may not: handlers
// imports provisioning), and the fake lives here.
func NewFuzzService(tb testing.TB) *Service {
	tb.Helper()
	return newEnv(tb).svc
}
