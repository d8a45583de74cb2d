package cli

import (
	"github.com/spf13/cobra"
)

// ConsumersShowOptions is what keyward consumers show needs.
type ConsumersShowOptions struct {
	Base
	Ref string
}

// NewCmdConsumersShow is keyward consumers show; runF, when given, runs instead of the command.
func NewCmdConsumersShow(f *Factory, runF func(*ConsumersShowOptions) error) *cobra.Command {
	opts := &ConsumersShowOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "show CONSUMER", Short: "Show a consumer (by name or id)", Args: cobra.ExactArgs(1),
		Example: "  keyward consumers show shop -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref),
		pick(opts, runF, consumersShowRun))
	return cmd
}

func consumersShowRun(opts *ConsumersShowOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveConsumer(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		return showConsumer(opts.Stdout, opts.Output, c)
	})
}
