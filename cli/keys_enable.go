package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// KeysEnableOptions is what keyward keys enable and keys disable need.
type KeysEnableOptions struct {
	Base
	Ref, Owner string
	Enable     bool
}

// NewCmdKeysEnable is keyward keys enable (enable) or keys disable; runF, when given,
// runs instead of the command.
func NewCmdKeysEnable(f *Factory, enable bool, runF func(*KeysEnableOptions) error) *cobra.Command {
	opts := &KeysEnableOptions{Base: f.base(), Enable: enable}
	use, short := "enable KEY", "Enable a key: the exchange accepts it again"
	if !enable {
		use, short = "disable KEY", "Disable a key: the exchange refuses it until it is enabled"
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: "  keyward keys " + strings.Fields(use)[0] + " ci",
		Args:    cobra.ExactArgs(1),
	}
	opts.outputFlag(cmd, "table", "table (a line on stderr) or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref),
		pick(opts, runF, keysEnableRun))
	cmd.Flags().StringVar(&opts.Owner, "owner", "", "admins: look the name up among this user's keys")
	return cmd
}

func keysEnableRun(opts *KeysEnableOptions) error {
	verb := "Enabled"
	if !opts.Enable {
		verb = "Disabled"
	}
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		return li.changeKey(&opts.Base, opts.Ref, opts.Owner, client.KeyUpdate{Enabled: &opts.Enable}, verb)
	})
}
