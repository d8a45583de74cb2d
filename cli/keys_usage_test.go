package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestKeysUsage_Chart(t *testing.T) {
	srv := apitest.New(t)
	f := asUser(t, srv)
	key := f.createKey(t, "--name", "ci")
	f.exchange(t, key)
	f.must(t, NewCmdKeysEnable(f.Factory, false, nil), "ci")
	f.exchange(t, key) // refused: inactive
	f.must(t, NewCmdKeysEnable(f.Factory, true, nil), "ci")
	f.exchange(t, key)
	if err := srv.Usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := f.must(t, NewCmdKeysUsage(f.Factory, nil), "ci")
	if !strings.Contains(out, "ci (kw_live_") || !strings.Contains(out, ": 2 exchanges, 1 denied over 30 days") {
		t.Fatalf("usage's head:\n%s", out)
	}
	today := srv.Clock.Now().UTC().Format("2006-01-02")
	if !regexp.MustCompile(`(?m)^` + today + `\s+2\s+█`).MatchString(out) {
		t.Fatalf("no bar for today's exchanges:\n%s", out)
	}
	if !strings.Contains(out, "inactive 1") { // the exchange refused while disabled
		t.Fatalf("denials not shown:\n%s", out)
	}
	var u struct {
		Days []json.RawMessage `json:"days"`
	}
	if err := json.Unmarshal([]byte(f.must(t, NewCmdKeysUsage(f.Factory, nil), "ci", "--days", "7", "-o", "json")), &u); err != nil || len(u.Days) != 7 {
		t.Fatalf("usage -o json: %v %d", err, len(u.Days))
	}
	// The server's bound, named as the flag.
	code, _, errOut := f.run(t, NewCmdKeysUsage(f.Factory, nil), "ci", "--days", "91")
	if code != ExitUsage || !strings.Contains(errOut, "--days") {
		t.Fatalf("--days 91: %d %q", code, errOut)
	}
}
