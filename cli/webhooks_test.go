package cli

import (
	"strings"
	"testing"
)

const hook = "http://127.0.0.1:9/cli"

// newHook registers hook for key events and returns its secret.
func (f *tf) newHook(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(f.must(t, NewCmdWebhooksCreate(f.Factory, nil), "--url", hook, "--event", "key.created"))
}
