package cli

import (
	"github.com/spf13/cobra"
)

// KeysUsageOptions is what keyward keys usage needs.
type KeysUsageOptions struct {
	Base
	Ref, Owner string
	Days       int
}

// NewCmdKeysUsage is keyward keys usage; runF, when given, runs instead of the command.
func NewCmdKeysUsage(f *Factory, runF func(*KeysUsageOptions) error) *cobra.Command {
	opts := &KeysUsageOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:     "usage KEY",
		Short:   "Show a key's exchanges per day, with a bar chart",
		Example: "  keyward keys usage ci\n  keyward keys usage ci --days 7 -o json",
		Args:    cobra.ExactArgs(1),
	}
	opts.outputFlag(cmd, "table", "table (with a bar chart) or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref),
		pick(opts, runF, keysUsageRun))
	cmd.Flags().StringVar(&opts.Owner, "owner", "", "admins: look the name up among this user's keys")
	cmd.Flags().IntVar(&opts.Days, "days", 30, "how many days back, 1..90")
	return cmd
}

func keysUsageRun(opts *KeysUsageOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		k, err := li.resolveKey(opts.Ctx, opts.Ref, opts.Owner)
		if err != nil {
			return err
		}
		u, err := li.manager.KeyUsage(opts.Ctx, k.ID, opts.Days)
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRaw(opts.Stdout, u.Raw)
		}
		return usageChart(opts.Stdout, k, u)
	})
}
