package cli

// keyward acl-groups (admin): the groups that grant access, under the ACL parent group.

import (
	"github.com/spf13/cobra"
)

func newACLGroupsCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "acl-groups",
		Aliases: []string{"acl-group"},
		Short:   "Admins: ACL groups (Keycloak groups whose names tokens carry in acl_groups)",
		Example: "  keyward acl-groups list\n  keyward acl-groups create partners --description 'partner APIs'\n  keyward acl-groups delete partners",
	}
	cmd.AddCommand(NewCmdACLGroupsList(f, nil), NewCmdACLGroupsCreate(f, nil), NewCmdACLGroupsDelete(f, nil))
	return cmd
}
