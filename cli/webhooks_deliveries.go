package cli

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// WebhooksDeliveriesOptions is what keyward webhooks deliveries needs.
type WebhooksDeliveriesOptions struct {
	Base
	Ref   string
	Limit int
}

// NewCmdWebhooksDeliveries is keyward webhooks deliveries; runF, when given, runs instead
// of the command.
func NewCmdWebhooksDeliveries(f *Factory, runF func(*WebhooksDeliveriesOptions) error) *cobra.Command {
	opts := &WebhooksDeliveriesOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "deliveries WEBHOOK", Short: "An endpoint's latest deliveries, newest first, with their attempts",
		Args: cobra.ExactArgs(1), Example: "  keyward webhooks deliveries https://hooks.example.com/keyward --limit 5 -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's objects, payloads included, as one array)")
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "how many (1 to 200)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, webhooksDeliveriesRun))
	return cmd
}

func webhooksDeliveriesRun(opts *WebhooksDeliveriesOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		h, err := li.resolveWebhook(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		page, err := li.manager.WebhookDeliveries(opts.Ctx, h.ID, "", opts.Limit)
		if err != nil {
			return asFlags(err, map[string]string{"limit": "--limit"})
		}
		if opts.Output == "json" {
			return writeRawList(opts.Stdout, rawsOf(page.Items, func(d client.WebhookDelivery) json.RawMessage { return d.Raw }))
		}
		t := newTable(opts.Stdout)
		t.row("QUEUED", "EVENT", "STATE", "ATTEMPTS", "LAST ANSWER", "ID")
		for _, d := range page.Items {
			t.row(d.CreatedAt.UTC().Format(time.RFC3339), d.EventType, d.State, strconv.Itoa(len(d.Attempts)), lastAnswer(d), d.ID)
		}
		return t.flush()
	})
}
