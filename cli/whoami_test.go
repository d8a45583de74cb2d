package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

// jwtOf is an access token carrying claims (whoami verifies nothing: it only shows them).
func jwtOf(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + enc.EncodeToString(b) + ".c2ln"
}

func TestWhoami(t *testing.T) {
	var out, errOut strings.Builder
	f := &Factory{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut}
	for _, admin := range []bool{false, true} {
		roles := []any{"default-roles-keyward"}
		if admin {
			roles = append(roles, "keyward-admin")
		}
		tok := &oauth2.Token{AccessToken: jwtOf(map[string]any{"sub": "alice-id", "preferred_username": "alice",
			"acl_groups": []string{"analytics", "engineering"}, "iss": "https://kc/realms/r", "realm_access": map[string]any{"roles": roles}}),
			Expiry: time.Now().Add(5 * time.Minute)}
		f.loginAs = func(context.Context) (*loggedIn, error) {
			return &loggedIn{keywardURL: "http://kw", username: "alice", source: oauth2.StaticTokenSource(tok)}, nil
		}
		out.Reset()
		if err := runCmd(NewCmdWhoami(f, nil), "-o", "json"); err != nil {
			t.Fatal(err)
		}
		var id identity
		if json.Unmarshal([]byte(out.String()), &id) != nil || id.Username != "alice" || id.Subject != "alice-id" || id.Admin != admin ||
			strings.Join(id.ACLGroups, ",") != "analytics,engineering" || !id.ExpiresAt.After(time.Now()) || id.KeywardURL != "http://kw" {
			t.Fatalf("whoami -o json: %q", out.String())
		}
		out.Reset()
		if err := runCmd(NewCmdWhoami(f, nil)); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.Contains(s, "alice") || !strings.Contains(s, "analytics, engineering") || !strings.Contains(s, "token expires") {
			t.Fatalf("whoami: %q", s)
		}
	}
	if err := runCmd(NewCmdWhoami(f, nil), "-o", "yaml"); exitCode(err) != ExitUsage || !strings.Contains(err.Error(), `-o "yaml": use table or json`) {
		t.Fatalf("-o yaml: %v", err)
	}
}

// runCmd runs cmd with args, cobra's own output silenced; the command's goes where its
// Factory says.
func runCmd(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}
