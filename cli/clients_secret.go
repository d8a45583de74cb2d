package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// ClientsSecretOptions is what keyward clients secret show and secret regenerate need.
type ClientsSecretOptions struct {
	Base
	Ref, OutFile string
	Regenerate   bool
}

// NewCmdClientsSecret is keyward clients secret show, or secret regenerate (regenerate);
// runF, when given, runs instead of the command.
func NewCmdClientsSecret(f *Factory, regenerate bool, runF func(*ClientsSecretOptions) error) *cobra.Command {
	opts := &ClientsSecretOptions{Base: f.base(), Regenerate: regenerate}
	use, short := "show CLIENT", "Print a client's secret alone on stdout (the view is audited)"
	if regenerate {
		use, short = "regenerate CLIENT", "Replace a client's secret (the old one stops at once); the new one alone on stdout"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
		Example: "  keyward clients secret " + strings.Fields(use)[0] + " shop-orders --out-file shop.secret"}
	opts.outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object)")
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, clientsSecretRun))
	return cmd
}

func clientsSecretRun(opts *ClientsSecretOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveClient(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		out, err := openSecretOut(opts.Stdout, opts.OutFile)
		if err != nil {
			return err
		}
		get := li.manager.ClientSecret
		if opts.Regenerate {
			get = li.manager.RegenerateClientSecret
		}
		s, err := get(opts.Ctx, c.ID)
		if err != nil {
			out.abandon()
			return err
		}
		if err := out.writeAs(opts.Output, s.Secret, s.Raw); err != nil {
			return err
		}
		if opts.Regenerate {
			fmt.Fprintf(opts.Stderr, "Regenerated the secret of %s: the old one no longer works.\n", printable(c.ClientID))
		}
		return nil
	})
}
