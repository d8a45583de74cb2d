package cli

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apitest"
)

// keys create --role limits a key; show prints its roles; update --role narrows only;
// --acl-group is refused by the server with why.
func TestKeysCreate_Roles_ShownAndNarrowed(t *testing.T) {
	f := asUser(t, apitest.New(t))
	f.createKey(t, "--name", "reader", "--role", "reports-read", "--role", "shop-api:orders-read")
	out := f.must(t, NewCmdKeysShow(f.Factory, nil), "reader")
	if !strings.Contains(out, "roles") || !strings.Contains(out, "reports-read shop-api:orders-read") {
		t.Fatalf("show lacks the roles: %q", out)
	}
	out = f.must(t, NewCmdKeysUpdate(f.Factory, nil), "reader", "--role", "shop-api:orders-read")
	if !strings.Contains(out, "shop-api:orders-read") || strings.Contains(out, "reports-read") {
		t.Fatalf("update --role: %q", out)
	}
	code, _, errOut := f.run(t, NewCmdKeysUpdate(f.Factory, nil), "reader", "--role", "shop-api:orders-read,reports-read")
	if code == 0 || !strings.Contains(errOut, "roles[1]") || !strings.Contains(errOut, "never widened") {
		t.Fatalf("widening: %d %q", code, errOut)
	}
	f.createKey(t, "--name", "plain")
	if out := f.must(t, NewCmdKeysShow(f.Factory, nil), "plain"); !strings.Contains(out, "all of the owner's") {
		t.Fatalf("an unrestricted key's roles: %q", out)
	}
}

func TestKeysCreate_Roles_Refused(t *testing.T) {
	f := asUser(t, apitest.New(t))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "x", "--role", "finance-read"}, "not a role alice holds"},
		{[]string{"--name", "x", "--role", "keyward-admin"}, "denylist"},
		{[]string{"--name", "x", "--acl-group", "finance"}, "Keycloak cannot limit a token's acl_groups claim"},
	} {
		code, out, errOut := f.run(t, NewCmdKeysCreate(f.Factory, nil), c.args...)
		if code == 0 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q %q", c.args, code, out, errOut)
		}
	}
}
