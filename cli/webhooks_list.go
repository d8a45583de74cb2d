package cli

import (
	"context"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// WebhooksListOptions is what keyward webhooks list needs.
type WebhooksListOptions struct {
	Base
}

// NewCmdWebhooksList is keyward webhooks list; runF, when given, runs instead of the command.
func NewCmdWebhooksList(f *Factory, runF func(*WebhooksListOptions) error) *cobra.Command {
	opts := &WebhooksListOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "list", Short: "List webhook endpoints", Args: cobra.NoArgs, Example: "  keyward webhooks list -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	cmd.RunE = opts.runE(nil, pick(opts, runF, webhooksListRun))
	return cmd
}

func webhooksListRun(opts *WebhooksListOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		all, err := allPages(opts.Ctx, func(ctx context.Context, cursor string) (client.Page[client.Webhook], error) {
			return li.manager.ListWebhooks(ctx, cursor, 200)
		})
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRawList(opts.Stdout, rawsOf(all, func(h client.Webhook) json.RawMessage { return h.Raw }))
		}
		return webhooksTable(opts.Stdout, all)
	})
}
