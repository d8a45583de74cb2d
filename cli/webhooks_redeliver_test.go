package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestWebhooksRedeliver(t *testing.T) {
	srv := apitest.New(t)
	f := asAdmin(t, srv)
	d := f.queuedDelivery(t, srv)
	code, _, errOut := f.run(t, NewCmdWebhooksRedeliver(f.Factory, nil), hook, d["id"].(string))
	if code != 0 || !strings.Contains(errOut, "Queued delivery "+d["id"].(string)+" (key.created") {
		t.Fatalf("redeliver: %d %q", code, errOut)
	}
	if code, _, errOut := f.run(t, NewCmdWebhooksRedeliver(f.Factory, nil), hook); code != ExitUsage || !strings.Contains(errOut, "accepts 2 arg") {
		t.Fatalf("redeliver without an id: %d %q", code, errOut)
	}
	user := asOther(t, srv)
	if code, _, errOut := user.run(t, NewCmdWebhooksRedeliver(user.Factory, nil), hook, d["id"].(string)); code != ExitRefused || !strings.HasPrefix(errOut, "keyward: refused: ") {
		t.Fatalf("bob: %d %q", code, errOut)
	}
}
