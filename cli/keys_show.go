package cli

import (
	"github.com/spf13/cobra"
)

// KeysShowOptions is what keyward keys show needs.
type KeysShowOptions struct {
	Base
	Ref, Owner string
}

// NewCmdKeysShow is keyward keys show; runF, when given, runs instead of the command.
func NewCmdKeysShow(f *Factory, runF func(*KeysShowOptions) error) *cobra.Command {
	opts := &KeysShowOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:     "show KEY",
		Short:   "Show a key (never its secret)",
		Example: "  keyward keys show ci\n  keyward keys show 3f0c…-uuid -o json",
		Args:    cobra.ExactArgs(1),
	}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref),
		pick(opts, runF, keysShowRun))
	cmd.Flags().StringVar(&opts.Owner, "owner", "", "admins: look the name up among this user's keys")
	return cmd
}

func keysShowRun(opts *KeysShowOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		k, err := li.resolveKey(opts.Ctx, opts.Ref, opts.Owner)
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRaw(opts.Stdout, k.Raw)
		}
		return keyDetails(opts.Stdout, k)
	})
}
