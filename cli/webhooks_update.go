package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// WebhooksUpdateOptions is what keyward webhooks update needs.
type WebhooksUpdateOptions struct {
	Base
	Ref    string
	Update client.WebhookUpdate
	// the flags read into Update by parse
	url, description string
	events           []string
}

// NewCmdWebhooksUpdate is keyward webhooks update; runF, when given, runs instead of the command.
func NewCmdWebhooksUpdate(f *Factory, runF func(*WebhooksUpdateOptions) error) *cobra.Command {
	opts := &WebhooksUpdateOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "update WEBHOOK [flags]", Short: "Change an endpoint's URL, description or event types",
		Args: cobra.ExactArgs(1), Example: "  keyward webhooks update https://hooks.example.com/keyward --event '*'"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	flags := cmd.Flags()
	flags.StringVar(&opts.url, "url", "", "a new URL")
	flags.StringVar(&opts.description, "description", "", "a new description")
	flags.StringSliceVar(&opts.events, "event", nil, "the new set of event types (repeat or comma-separate)")
	cmd.RunE = opts.runE(opts.parse, pick(opts, runF, webhooksUpdateRun))
	return cmd
}

// parse reads the flags given into Update (none is a usage error, said after the login
// as it always was).
func (opts *WebhooksUpdateOptions) parse(cmd *cobra.Command, args []string) error {
	flags := cmd.Flags()
	opts.Ref, opts.Update = args[0], client.WebhookUpdate{}
	if flags.Changed("url") {
		opts.Update.URL = &opts.url
	}
	if flags.Changed("description") {
		opts.Update.Description = &opts.description
	}
	if flags.Changed("event") {
		opts.Update.EventTypes = &opts.events
	}
	return nil
}

func webhooksUpdateRun(opts *WebhooksUpdateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		if string(mustJSON(opts.Update)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward webhooks update -h)")}
		}
		return li.updateWebhook(&opts.Base, opts.Ref, opts.Update)
	})
}
