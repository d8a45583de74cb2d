package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// WebhooksCreateOptions is what keyward webhooks create needs.
type WebhooksCreateOptions struct {
	Base
	In       client.WebhookCreate
	Disabled bool
	OutFile  string
}

// NewCmdWebhooksCreate is keyward webhooks create; runF, when given, runs instead of the command.
func NewCmdWebhooksCreate(f *Factory, runF func(*WebhooksCreateOptions) error) *cobra.Command {
	opts := &WebhooksCreateOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "create --url URL --event TYPE [flags]",
		Short: "Register an endpoint: its signing secret alone on stdout (shown this once)",
		Long: "Register an endpoint for event types (key.created, key.*, *, …). Its signing secret (whsec_…) is printed\n" +
			"alone on stdout (or to --out-file, created 0600); what the endpoint is goes to stderr.",
		Example: "  SECRET=$(keyward webhooks create --url https://hooks.example.com/keyward --event key.revoked --event 'consumer.*')",
		Args:    cobra.NoArgs,
	}
	opts.outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object, with the secret)")
	flags, in := cmd.Flags(), &opts.In
	flags.StringVar(&in.URL, "url", "", "where to post (https; internal addresses only where the server allows them; required)")
	flags.StringSliceVar(&in.EventTypes, "event", nil, "an event type or family to send (repeat or comma-separate; required)")
	flags.StringVar(&in.Description, "description", "", "what it is")
	flags.BoolVar(&opts.Disabled, "disabled", false, "register it disabled")
	flags.StringVar(&opts.OutFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("event")
	cmd.RunE = opts.runE(nil, pick(opts, runF, webhooksCreateRun))
	return cmd
}

func webhooksCreateRun(opts *WebhooksCreateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		in := opts.In
		if opts.Disabled {
			off := false
			in.Enabled = &off
		}
		out, err := openSecretOut(opts.Stdout, opts.OutFile)
		if err != nil {
			return err
		}
		created, err := li.manager.CreateWebhook(opts.Ctx, in)
		if err != nil {
			out.abandon()
			return webhookFlags(err)
		}
		if err := out.writeAs(opts.Output, created.Secret, created.Raw); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Registered %s for %s (%s). Its signing secret is shown this once.\n",
			printable(created.URL), strings.Join(created.EventTypes, ","), webhookState(client.Webhook{Webhook: created.Webhook}))
		return nil
	})
}
