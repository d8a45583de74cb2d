package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

func TestClientsUpdate(t *testing.T) {
	f := asAdmin(t, apitest.New(t))
	f.newClient(t)
	c := jsonOf[map[string]any](t, f.must(t, NewCmdClientsUpdate(f.Factory, nil), "orders", "--description", "orders service",
		"--redirect-uri", "https://app.example.com/cb", "-o", "json"))
	if c["description"] != "orders service" || len(strs(c["redirect_uris"])) != 1 {
		t.Fatalf("update: %v", c)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"orders"}, "nothing to change"},
		{[]string{"orders", "--redirect-uri", "https://evil.example.net/cb"}, "--redirect-uri"},
		{[]string{"orders", "--redirect-uri", "https://app.example.com/cb", "--no-redirect-uris"}, "none of the others"},
	} {
		if code, _, errOut := f.run(t, NewCmdClientsUpdate(f.Factory, nil), c.args...); code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q", c.args, code, errOut)
		}
	}
}
