package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ACLGroupsCreateOptions is what keyward acl-groups create needs.
type ACLGroupsCreateOptions struct {
	Base
	Name, Description string
}

// NewCmdACLGroupsCreate is keyward acl-groups create; runF, when given, runs instead of the command.
func NewCmdACLGroupsCreate(f *Factory, runF func(*ACLGroupsCreateOptions) error) *cobra.Command {
	opts := &ACLGroupsCreateOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "create NAME [--description TEXT]", Short: "Create an ACL group in Keycloak", Args: cobra.ExactArgs(1),
		Example: "  keyward acl-groups create partners --description 'partner APIs'"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.Flags().StringVar(&opts.Description, "description", "", "what membership means")
	cmd.RunE = opts.runE(firstArg(&opts.Name), pick(opts, runF, aclGroupsCreateRun))
	return cmd
}

func aclGroupsCreateRun(opts *ACLGroupsCreateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		g, err := li.manager.CreateACLGroup(opts.Ctx, opts.Name, opts.Description)
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRaw(opts.Stdout, g.Raw)
		}
		fmt.Fprintf(opts.Stderr, "Created ACL group %s (%s).\n", printable(g.Name), printable(g.Path))
		return nil
	})
}
