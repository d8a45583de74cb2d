package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ACLGroupsDeleteOptions is what keyward acl-groups delete needs.
type ACLGroupsDeleteOptions struct {
	Base
	Name string
}

// NewCmdACLGroupsDelete is keyward acl-groups delete; runF, when given, runs instead of the command.
func NewCmdACLGroupsDelete(f *Factory, runF func(*ACLGroupsDeleteOptions) error) *cobra.Command {
	opts := &ACLGroupsDeleteOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "delete NAME", Short: "Delete an ACL group (no consumer may use it, no member be in it)",
		Args: cobra.ExactArgs(1), Example: "  keyward acl-groups delete partners"}
	cmd.RunE = opts.runE(firstArg(&opts.Name), pick(opts, runF, aclGroupsDeleteRun))
	return cmd
}

func aclGroupsDeleteRun(opts *ACLGroupsDeleteOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		if err := li.manager.DeleteACLGroup(opts.Ctx, opts.Name); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Deleted ACL group %s.\n", printable(opts.Name))
		return nil
	})
}
