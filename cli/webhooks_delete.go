package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// WebhooksDeleteOptions is what keyward webhooks delete needs.
type WebhooksDeleteOptions struct {
	Base
	Ref string
}

// NewCmdWebhooksDelete is keyward webhooks delete; runF, when given, runs instead of the command.
func NewCmdWebhooksDelete(f *Factory, runF func(*WebhooksDeleteOptions) error) *cobra.Command {
	opts := &WebhooksDeleteOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "delete WEBHOOK", Short: "Delete an endpoint and its delivery log", Args: cobra.ExactArgs(1),
		Example: "  keyward webhooks delete https://hooks.example.com/keyward"}
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, webhooksDeleteRun))
	return cmd
}

func webhooksDeleteRun(opts *WebhooksDeleteOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		h, err := li.resolveWebhook(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		if err := li.manager.DeleteWebhook(opts.Ctx, h.ID); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Deleted webhook endpoint %s.\n", printable(h.URL))
		return nil
	})
}
