package cli

// keyward acl-groups (admin): the groups that grant access, under the ACL parent group.

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

func newACLGroupsCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "acl-groups",
		Aliases: []string{"acl-group"},
		Short:   "Admins: ACL groups (Keycloak groups whose names tokens carry in acl_groups)",
		Example: "  keyward acl-groups list\n  keyward acl-groups create partners --description 'partner APIs'\n  keyward acl-groups delete partners",
	}
	list := &cobra.Command{Use: "list", Short: "List the ACL groups", Args: cobra.NoArgs, Example: "  keyward acl-groups list -o json"}
	listOut := outputFlag(list, "table", "table or json (the API's objects, as one array)")
	list.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		gs, err := li.manager.ListACLGroups(cmd.Context())
		if err != nil {
			return err
		}
		if *listOut == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(gs, func(g client.ACLGroup) json.RawMessage { return g.Raw }))
		}
		t := newTable(cmd.OutOrStdout())
		t.row("NAME", "DESCRIPTION", "PATH")
		for _, g := range gs {
			t.row(g.Name, g.Description, g.Path)
		}
		return t.flush()
	})
	var description string
	create := &cobra.Command{Use: "create NAME [--description TEXT]", Short: "Create an ACL group in Keycloak", Args: cobra.ExactArgs(1),
		Example: "  keyward acl-groups create partners --description 'partner APIs'"}
	createOut := outputFlag(create, "table", "table or json (the API's object)")
	create.Flags().StringVar(&description, "description", "", "what membership means")
	create.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		g, err := li.manager.CreateACLGroup(cmd.Context(), args[0], description)
		if err != nil {
			return err
		}
		if *createOut == "json" {
			return writeRaw(cmd.OutOrStdout(), g.Raw)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Created ACL group %s (%s).\n", printable(g.Name), printable(g.Path))
		return nil
	})
	del := &cobra.Command{Use: "delete NAME", Short: "Delete an ACL group (no consumer may use it, no member be in it)",
		Args: cobra.ExactArgs(1), Example: "  keyward acl-groups delete partners"}
	del.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		if err := li.manager.DeleteACLGroup(cmd.Context(), args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted ACL group %s.\n", printable(args[0]))
		return nil
	})
	cmd.AddCommand(list, create, del)
	return cmd
}
