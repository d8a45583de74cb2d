package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// queuedDelivery registers hook and queues one delivery (key.created); nothing sends it.
func (f *tf) queuedDelivery(t *testing.T, srv *apitest.Server) map[string]any {
	t.Helper()
	f.newHook(t)
	asUser(t, srv).createKey(t, "--name", "hooked")
	ds := jsonOf[[]map[string]any](t, f.must(t, NewCmdWebhooksDeliveries(f.Factory, nil), hook, "-o", "json"))
	if len(ds) != 1 || ds[0]["event_type"] != "key.created" {
		t.Fatalf("deliveries -o json: %v", ds)
	}
	return ds[0]
}

func TestWebhooksDeliveries(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	f.queuedDelivery(t, srv)
	if table := f.must(t, NewCmdWebhooksDeliveries(f.Factory, nil), hook); !strings.Contains(table, "key.created") || !strings.Contains(table, "LAST ANSWER") {
		t.Fatalf("deliveries table: %q", table)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksDeliveries(f.Factory, nil), hook, "--limit", "500"); code != ExitUsage || !strings.Contains(errOut, "--limit") {
		t.Fatalf("--limit 500: %d %q", code, errOut)
	}
}
