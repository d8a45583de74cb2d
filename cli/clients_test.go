package cli

import (
	"strings"
	"testing"
)

// newClient provisions client orders for consumer shop and returns its secret.
func (f *tf) newClient(t *testing.T) string {
	t.Helper()
	f.newConsumer(t, "shop", "analytics")
	return strings.TrimSuffix(f.must(t, NewCmdClientsCreate(f.Factory, nil), "--consumer", "shop", "--client-id", "orders"), "\n")
}
