package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// WebhooksEnableOptions is what keyward webhooks enable and webhooks disable need.
type WebhooksEnableOptions struct {
	Base
	Ref    string
	Enable bool
}

// NewCmdWebhooksEnable is keyward webhooks enable (enable) or webhooks disable; runF,
// when given, runs instead of the command.
func NewCmdWebhooksEnable(f *Factory, enable bool, runF func(*WebhooksEnableOptions) error) *cobra.Command {
	opts := &WebhooksEnableOptions{Base: f.base(), Enable: enable}
	use, short := "disable WEBHOOK", "Stop sending to an endpoint (events while it is off are not queued for it)"
	if enable {
		use, short = "enable WEBHOOK", "Send to an endpoint again (clears its run of failures)"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
		Example: "  keyward webhooks " + strings.Fields(use)[0] + " https://hooks.example.com/keyward"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, webhooksEnableRun))
	return cmd
}

func webhooksEnableRun(opts *WebhooksEnableOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		return li.updateWebhook(&opts.Base, opts.Ref, client.WebhookUpdate{Enabled: &opts.Enable})
	})
}
