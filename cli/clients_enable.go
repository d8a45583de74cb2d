package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ClientsEnableOptions is what keyward clients enable and clients disable need.
type ClientsEnableOptions struct {
	Base
	Ref    string
	Enable bool
}

// NewCmdClientsEnable is keyward clients enable (enable) or clients disable; runF, when
// given, runs instead of the command.
func NewCmdClientsEnable(f *Factory, enable bool, runF func(*ClientsEnableOptions) error) *cobra.Command {
	opts := &ClientsEnableOptions{Base: f.base(), Enable: enable}
	use, short := "enable CLIENT", "Enable a client"
	if !enable {
		use, short = "disable CLIENT", "Disable a client: Keycloak refuses it tokens"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), Example: "  keyward clients " + strings.Fields(use)[0] + " shop-orders"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, clientsEnableRun))
	return cmd
}

func clientsEnableRun(opts *ClientsEnableOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		return li.updateClient(&opts.Base, opts.Ref, client.ClientUpdate{Enabled: &opts.Enable})
	})
}
