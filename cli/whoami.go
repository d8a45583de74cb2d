package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// WhoamiOptions is what keyward whoami needs.
type WhoamiOptions struct {
	Base
}

// NewCmdWhoami is keyward whoami; runF, when given, runs instead of the command.
func NewCmdWhoami(f *Factory, runF func(*WhoamiOptions) error) *cobra.Command {
	opts := &WhoamiOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:     "whoami",
		Short:   "Show who you are logged in as: user, groups, token expiry",
		Example: "  keyward whoami\n  keyward whoami -o json | jq -r .acl_groups[]",
		Args:    cobra.NoArgs,
	}
	opts.outputFlag(cmd, "table", "table or json")
	cmd.RunE = opts.runE(nil, pick(opts, runF, whoamiRun))
	return cmd
}

func whoamiRun(opts *WhoamiOptions) error {
	li, err := opts.Login(opts.Ctx)
	if err != nil {
		return err
	}
	tok, err := li.source.Token()
	if err != nil {
		return err
	}
	c := jwtClaims(tok.AccessToken)
	id := identity{Subject: str(c["sub"]), Username: str(c["preferred_username"]), Email: str(c["email"]),
		ACLGroups: claimStrings(c["acl_groups"]), Issuer: str(c["iss"]), ExpiresAt: tok.Expiry.UTC().Truncate(time.Second), KeywardURL: li.keywardURL}
	if ra, ok := c["realm_access"].(map[string]any); ok {
		id.RealmRoles = claimStrings(ra["roles"])
	}
	for _, r := range id.RealmRoles {
		id.Admin = id.Admin || r == "keyward-admin"
	}
	if opts.Output == "json" {
		return writeJSON(opts.Stdout, id)
	}
	w := newTable(opts.Stdout)
	w.row("user", id.Username+" ("+id.Subject+")")
	if id.Email != "" {
		w.row("email", id.Email)
	}
	groups := strings.Join(id.ACLGroups, ", ")
	if groups == "" {
		groups = "(none)"
	}
	w.row("groups", groups)
	w.row("admin", yesNo(id.Admin))
	w.row("token expires", fmt.Sprintf("%s (in %s)", id.ExpiresAt.Format(time.RFC3339), shortDuration(time.Until(id.ExpiresAt).Round(time.Second))))
	w.row("keyward", id.KeywardURL)
	w.row("issuer", id.Issuer)
	return w.flush()
}
