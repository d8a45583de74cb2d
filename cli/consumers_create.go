package cli

import (
	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ConsumersCreateOptions is what keyward consumers create needs.
type ConsumersCreateOptions struct {
	Base
	In client.ConsumerCreate
}

// NewCmdConsumersCreate is keyward consumers create; runF, when given, runs instead of the command.
func NewCmdConsumersCreate(f *Factory, runF func(*ConsumersCreateOptions) error) *cobra.Command {
	opts := &ConsumersCreateOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "create --name NAME [flags]", Short: "Create a consumer", Args: cobra.NoArgs,
		Example: "  keyward consumers create --name shop --environment production --acl-group analytics"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	in := &opts.In
	cmd.Flags().StringVar(&in.Name, "name", "", "the consumer's name (required)")
	cmd.Flags().StringVar(&in.Description, "description", "", "what it is")
	cmd.Flags().StringVar(&in.Environment, "environment", "", "development, staging or production (default production)")
	cmd.Flags().StringVar(&in.ContactEmail, "contact-email", "", "where reminders of the consumer's keys are mailed")
	cmd.Flags().StringSliceVar(&in.ACLGroups, "acl-group", nil, "an ACL group its clients' tokens carry (repeat or comma-separate)")
	_ = cmd.MarkFlagRequired("name")
	cmd.RunE = opts.runE(nil, pick(opts, runF, consumersCreateRun))
	return cmd
}

func consumersCreateRun(opts *ConsumersCreateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.manager.CreateConsumer(opts.Ctx, opts.In)
		if err != nil {
			return err
		}
		return showConsumer(opts.Stdout, opts.Output, c)
	})
}
