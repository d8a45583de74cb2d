package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ClientsDeleteOptions is what keyward clients delete needs.
type ClientsDeleteOptions struct {
	Base
	Ref string
}

// NewCmdClientsDelete is keyward clients delete; runF, when given, runs instead of the command.
func NewCmdClientsDelete(f *Factory, runF func(*ClientsDeleteOptions) error) *cobra.Command {
	opts := &ClientsDeleteOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "delete CLIENT", Short: "Delete a client from Keycloak and Keyward", Args: cobra.ExactArgs(1),
		Example: "  keyward clients delete shop-orders"}
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, clientsDeleteRun))
	return cmd
}

func clientsDeleteRun(opts *ClientsDeleteOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveClient(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		if err := li.manager.DeleteClient(opts.Ctx, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Deleted client %s.\n", printable(c.ClientID))
		return nil
	})
}
