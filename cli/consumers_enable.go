package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ConsumersEnableOptions is what keyward consumers enable and consumers disable need.
type ConsumersEnableOptions struct {
	Base
	Ref    string
	Enable bool
}

// NewCmdConsumersEnable is keyward consumers enable (enable) or consumers disable; runF,
// when given, runs instead of the command.
func NewCmdConsumersEnable(f *Factory, enable bool, runF func(*ConsumersEnableOptions) error) *cobra.Command {
	opts := &ConsumersEnableOptions{Base: f.base(), Enable: enable}
	use, short := "enable CONSUMER", "Enable a consumer: its keys and OAuth clients work again"
	if !enable {
		use, short = "disable CONSUMER", "Disable a consumer: its keys and OAuth clients are refused at once"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), Example: "  keyward consumers " + strings.Fields(use)[0] + " shop"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, consumersEnableRun))
	return cmd
}

func consumersEnableRun(opts *ConsumersEnableOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveConsumer(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		if c, err = li.manager.UpdateConsumer(opts.Ctx, c.ID, client.ConsumerUpdate{Enabled: &opts.Enable}); err != nil {
			return err
		}
		return showConsumer(opts.Stdout, opts.Output, c)
	})
}
