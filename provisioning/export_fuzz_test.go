package provisioning

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/models"
)

// NewFuzzService is the service on the fake Keycloak and a fresh SQLite store, for the
// admin-route fuzz target in package provisioning_test: that package may import
// handlers (this one may not: handlers imports provisioning), and the fake lives here.
func NewFuzzService(tb testing.TB) *Service {
	tb.Helper()
	st, err := models.Open(context.Background(), filepath.Join(tb.TempDir(), "p.db"), zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	svc, err := New(newFakeKeycloak(), st, Config{Realm: "keyward", ParentGroup: "keyward-acl",
		Audit: audit.NewRecorder(st, zap.NewNop(), nil)})
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}
