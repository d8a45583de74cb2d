package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ConsumersDeleteOptions is what keyward consumers delete needs.
type ConsumersDeleteOptions struct {
	Base
	Ref     string
	Cascade bool
}

// NewCmdConsumersDelete is keyward consumers delete; runF, when given, runs instead of the command.
func NewCmdConsumersDelete(f *Factory, runF func(*ConsumersDeleteOptions) error) *cobra.Command {
	opts := &ConsumersDeleteOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "delete CONSUMER [--cascade]", Short: "Delete a consumer (--cascade: and its clients)",
		Args: cobra.ExactArgs(1), Example: "  keyward consumers delete shop --cascade"}
	cmd.Flags().BoolVar(&opts.Cascade, "cascade", false, "delete its clients from Keycloak too")
	cmd.RunE = opts.runE(firstArg(&opts.Ref),
		pick(opts, runF, consumersDeleteRun))
	return cmd
}

func consumersDeleteRun(opts *ConsumersDeleteOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveConsumer(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		if err := li.manager.DeleteConsumer(opts.Ctx, c.ID, opts.Cascade); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Deleted consumer %s.\n", printable(c.Name))
		return nil
	})
}
