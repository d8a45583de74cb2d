package cli

import (
	"github.com/spf13/cobra"
)

// ClientsShowOptions is what keyward clients show needs.
type ClientsShowOptions struct {
	Base
	Ref string
}

// NewCmdClientsShow is keyward clients show; runF, when given, runs instead of the command.
func NewCmdClientsShow(f *Factory, runF func(*ClientsShowOptions) error) *cobra.Command {
	opts := &ClientsShowOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "show CLIENT", Short: "Show a client (by client_id or id; never its secret)", Args: cobra.ExactArgs(1),
		Example: "  keyward clients show shop-orders -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, clientsShowRun))
	return cmd
}

func clientsShowRun(opts *ClientsShowOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveClient(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		return showClient(opts.Stdout, opts.Output, c)
	})
}
