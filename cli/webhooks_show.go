package cli

import (
	"github.com/spf13/cobra"
)

// WebhooksShowOptions is what keyward webhooks show needs.
type WebhooksShowOptions struct {
	Base
	Ref string
}

// NewCmdWebhooksShow is keyward webhooks show; runF, when given, runs instead of the command.
func NewCmdWebhooksShow(f *Factory, runF func(*WebhooksShowOptions) error) *cobra.Command {
	opts := &WebhooksShowOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "show WEBHOOK", Short: "Show an endpoint (by URL or id)", Args: cobra.ExactArgs(1),
		Example: "  keyward webhooks show https://hooks.example.com/keyward -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, webhooksShowRun))
	return cmd
}

func webhooksShowRun(opts *WebhooksShowOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		h, err := li.resolveWebhook(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		return showWebhook(opts.Stdout, opts.Output, h)
	})
}
