package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ACLGroupsListOptions is what keyward acl-groups list needs.
type ACLGroupsListOptions struct {
	Base
}

// NewCmdACLGroupsList is keyward acl-groups list; runF, when given, runs instead of the command.
func NewCmdACLGroupsList(f *Factory, runF func(*ACLGroupsListOptions) error) *cobra.Command {
	opts := &ACLGroupsListOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "list", Short: "List the ACL groups", Args: cobra.NoArgs, Example: "  keyward acl-groups list -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	cmd.RunE = opts.runE(nil, pick(opts, runF, aclGroupsListRun))
	return cmd
}

func aclGroupsListRun(opts *ACLGroupsListOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		gs, err := li.manager.ListACLGroups(opts.Ctx)
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRawList(opts.Stdout, rawsOf(gs, func(g client.ACLGroup) json.RawMessage { return g.Raw }))
		}
		t := newTable(opts.Stdout)
		t.row("NAME", "DESCRIPTION", "PATH")
		for _, g := range gs {
			t.row(g.Name, g.Description, g.Path)
		}
		return t.flush()
	})
}
