package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// WebhooksRedeliverOptions is what keyward webhooks redeliver needs.
type WebhooksRedeliverOptions struct {
	Base
	Ref, DeliveryID string
}

// NewCmdWebhooksRedeliver is keyward webhooks redeliver; runF, when given, runs instead
// of the command.
func NewCmdWebhooksRedeliver(f *Factory, runF func(*WebhooksRedeliverOptions) error) *cobra.Command {
	opts := &WebhooksRedeliverOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "redeliver WEBHOOK DELIVERY_ID", Short: "Queue a delivery again now, under the same webhook-id",
		Args: cobra.ExactArgs(2), Example: "  keyward webhooks redeliver https://hooks.example.com/keyward 7d0c…"}
	cmd.RunE = opts.runE(func(_ *cobra.Command, args []string) error {
		opts.Ref, opts.DeliveryID = args[0], args[1]
		return nil
	}, pick(opts, runF, webhooksRedeliverRun))
	return cmd
}

func webhooksRedeliverRun(opts *WebhooksRedeliverOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		h, err := li.resolveWebhook(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		d, err := li.manager.RedeliverWebhook(opts.Ctx, h.ID, opts.DeliveryID)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Queued delivery %s (%s, webhook-id %s) again.\n", d.ID, d.EventType, d.WebhookID)
		return nil
	})
}
