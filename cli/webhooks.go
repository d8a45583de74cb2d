package cli

// Admin commands for webhook endpoints. The signing secret is printed where the command
// exists to print it (create, secret rotate); the delivery log never shows payloads in
// the table (-o json does, as the API answers them).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

func newWebhooksCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "webhooks",
		Aliases: []string{"webhook"},
		Short:   "Admins: endpoints Keyward posts events to (signed per Standard Webhooks), and their delivery logs",
		Example: "  SECRET=$(keyward webhooks create --url https://hooks.example.com/keyward --event 'key.*')\n" +
			"  keyward webhooks deliveries https://hooks.example.com/keyward\n" +
			"  keyward webhooks secret rotate https://hooks.example.com/keyward --overlap 24h",
	}
	secret := &cobra.Command{Use: "secret", Short: "The endpoint's signing secret",
		Example: "  keyward webhooks secret rotate WEBHOOK --overlap 24h"}
	secret.AddCommand(newWebhookSecretRotateCommand(f))
	cmd.AddCommand(newWebhooksListCommand(f), newWebhooksCreateCommand(f), newWebhooksShowCommand(f), newWebhooksUpdateCommand(f),
		newWebhooksEnableCommand(f, true), newWebhooksEnableCommand(f, false), newWebhooksDeleteCommand(f), secret,
		newWebhooksDeliveriesCommand(f), newWebhooksRedeliverCommand(f))
	return cmd
}

// resolveWebhook finds an endpoint by id or exact URL.
func (li *loggedIn) resolveWebhook(ctx context.Context, ref string) (client.Webhook, error) {
	return findByRef(ctx, ref, li.manager.Webhook,
		func(ctx context.Context, cursor string) (client.Page[client.Webhook], error) {
			return li.manager.ListWebhooks(ctx, cursor, 200)
		},
		func(w client.Webhook) bool { return w.URL == ref },
		&exitErr{ExitError, fmt.Errorf("no webhook endpoint with URL or id %q", printable(ref))})
}

func webhookState(w client.Webhook) string {
	switch {
	case w.Enabled && w.ConsecutiveFailures > 0:
		return "enabled, " + strconv.Itoa(w.ConsecutiveFailures) + " failures in a row"
	case w.Enabled:
		return "enabled"
	case w.DisabledReason != nil && *w.DisabledReason == "failing":
		return "disabled (failing)"
	}
	return "disabled"
}

func webhooksTable(w io.Writer, hooks []client.Webhook) error {
	t := newTable(w)
	t.row("URL", "EVENT TYPES", "STATE", "CREATED", "ID")
	for _, h := range hooks {
		t.row(printable(h.URL), strings.Join(h.EventTypes, ","), webhookState(h), h.CreatedAt.UTC().Format(time.RFC3339), h.ID)
	}
	return t.flush()
}

func showWebhook(w io.Writer, output string, h client.Webhook) error {
	if output == "json" {
		return writeRaw(w, h.Raw)
	}
	return webhooksTable(w, []client.Webhook{h})
}

func newWebhooksListCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "List webhook endpoints", Args: cobra.NoArgs, Example: "  keyward webhooks list -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		all, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) (client.Page[client.Webhook], error) {
			return li.manager.ListWebhooks(ctx, cursor, 200)
		})
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(all, func(h client.Webhook) json.RawMessage { return h.Raw }))
		}
		return webhooksTable(cmd.OutOrStdout(), all)
	})
	return cmd
}

func newWebhooksCreateCommand(f *Factory) *cobra.Command {
	var in client.WebhookCreate
	var disabled bool
	var outFile string
	cmd := &cobra.Command{
		Use:   "create --url URL --event TYPE [flags]",
		Short: "Register an endpoint: its signing secret alone on stdout (shown this once)",
		Long: "Register an endpoint for event types (key.created, key.*, *, …). Its signing secret (whsec_…) is printed\n" +
			"alone on stdout (or to --out-file, created 0600); what the endpoint is goes to stderr.",
		Example: "  SECRET=$(keyward webhooks create --url https://hooks.example.com/keyward --event key.revoked --event 'consumer.*')",
		Args:    cobra.NoArgs,
	}
	output := outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object, with the secret)")
	flags := cmd.Flags()
	flags.StringVar(&in.URL, "url", "", "where to post (https; internal addresses only where the server allows them; required)")
	flags.StringSliceVar(&in.EventTypes, "event", nil, "an event type or family to send (repeat or comma-separate; required)")
	flags.StringVar(&in.Description, "description", "", "what it is")
	flags.BoolVar(&disabled, "disabled", false, "register it disabled")
	flags.StringVar(&outFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("event")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		if disabled {
			off := false
			in.Enabled = &off
		}
		out, err := openSecretOut(cmd.OutOrStdout(), outFile)
		if err != nil {
			return err
		}
		created, err := li.manager.CreateWebhook(cmd.Context(), in)
		if err != nil {
			out.abandon()
			return webhookFlags(err)
		}
		if err := out.writeAs(*output, created.Secret, created.Raw); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Registered %s for %s (%s). Its signing secret is shown this once.\n",
			printable(created.URL), strings.Join(created.EventTypes, ","), webhookState(client.Webhook{Webhook: created.Webhook}))
		return nil
	})
	return cmd
}

// webhookFlags names the flags of a refused webhook request.
func webhookFlags(err error) error {
	return asFlags(err, map[string]string{"url": "--url", "event_types": "--event", "description": "--description",
		"previous_valid_hours": "--overlap", "cursor": "--cursor"})
}

func newWebhooksShowCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "show WEBHOOK", Short: "Show an endpoint (by URL or id)", Args: cobra.ExactArgs(1),
		Example: "  keyward webhooks show https://hooks.example.com/keyward -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		h, err := li.resolveWebhook(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return showWebhook(cmd.OutOrStdout(), *output, h)
	})
	return cmd
}

func newWebhooksUpdateCommand(f *Factory) *cobra.Command {
	var urlFlag, description string
	var events []string
	cmd := &cobra.Command{Use: "update WEBHOOK [flags]", Short: "Change an endpoint's URL, description or event types",
		Args: cobra.ExactArgs(1), Example: "  keyward webhooks update https://hooks.example.com/keyward --event '*'"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	flags := cmd.Flags()
	flags.StringVar(&urlFlag, "url", "", "a new URL")
	flags.StringVar(&description, "description", "", "a new description")
	flags.StringSliceVar(&events, "event", nil, "the new set of event types (repeat or comma-separate)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		var up client.WebhookUpdate
		if flags.Changed("url") {
			up.URL = &urlFlag
		}
		if flags.Changed("description") {
			up.Description = &description
		}
		if flags.Changed("event") {
			up.EventTypes = &events
		}
		if string(mustJSON(up)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward webhooks update -h)")}
		}
		return updateWebhook(cmd, li, args[0], *output, up)
	})
	return cmd
}

func updateWebhook(cmd *cobra.Command, li *loggedIn, ref, output string, up client.WebhookUpdate) error {
	h, err := li.resolveWebhook(cmd.Context(), ref)
	if err != nil {
		return err
	}
	if h, err = li.manager.UpdateWebhook(cmd.Context(), h.ID, up); err != nil {
		return webhookFlags(err)
	}
	return showWebhook(cmd.OutOrStdout(), output, h)
}

func newWebhooksEnableCommand(f *Factory, enable bool) *cobra.Command {
	use, short := "disable WEBHOOK", "Stop sending to an endpoint (events while it is off are not queued for it)"
	if enable {
		use, short = "enable WEBHOOK", "Send to an endpoint again (clears its run of failures)"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
		Example: "  keyward webhooks " + strings.Fields(use)[0] + " https://hooks.example.com/keyward"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		return updateWebhook(cmd, li, args[0], *output, client.WebhookUpdate{Enabled: &enable})
	})
	return cmd
}

func newWebhooksDeleteCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "delete WEBHOOK", Short: "Delete an endpoint and its delivery log", Args: cobra.ExactArgs(1),
		Example: "  keyward webhooks delete https://hooks.example.com/keyward"}
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		h, err := li.resolveWebhook(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if err := li.manager.DeleteWebhook(cmd.Context(), h.ID); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted webhook endpoint %s.\n", printable(h.URL))
		return nil
	})
	return cmd
}

func newWebhookSecretRotateCommand(f *Factory) *cobra.Command {
	var overlap time.Duration
	var outFile string
	cmd := &cobra.Command{Use: "rotate WEBHOOK [--overlap 24h]", Short: "Give an endpoint a new signing secret, alone on stdout",
		Long: "Give an endpoint a new signing secret, printed alone on stdout (or to --out-file, created 0600). Without\n" +
			"--overlap the old secret stops signing at once (as after a leak); with it, both sign until then.",
		Args: cobra.ExactArgs(1), Example: "  keyward webhooks secret rotate https://hooks.example.com/keyward --overlap 24h --out-file hook.secret"}
	output := outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object, with the secret)")
	cmd.Flags().DurationVar(&overlap, "overlap", 0, "how long the old secret keeps signing beside the new one (whole hours, at most 168h)")
	cmd.Flags().StringVar(&outFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		if overlap < 0 || overlap%time.Hour != 0 {
			return &exitErr{ExitUsage, fmt.Errorf("--overlap %v: give whole hours, 0h to 168h", overlap)}
		}
		h, err := li.resolveWebhook(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		out, err := openSecretOut(cmd.OutOrStdout(), outFile)
		if err != nil {
			return err
		}
		rotated, err := li.manager.RotateWebhookSecret(cmd.Context(), h.ID, int(overlap/time.Hour))
		if err != nil {
			out.abandon()
			return webhookFlags(err)
		}
		if err := out.writeAs(*output, rotated.Secret, rotated.Raw); err != nil {
			return err
		}
		if rotated.PreviousSecretUntil != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "New secret for %s; the old one signs too until %s.\n",
				printable(h.URL), rotated.PreviousSecretUntil.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "New secret for %s; the old one no longer signs.\n", printable(h.URL))
		}
		return nil
	})
	return cmd
}

func newWebhooksDeliveriesCommand(f *Factory) *cobra.Command {
	var limit int
	cmd := &cobra.Command{Use: "deliveries WEBHOOK", Short: "An endpoint's latest deliveries, newest first, with their attempts",
		Args: cobra.ExactArgs(1), Example: "  keyward webhooks deliveries https://hooks.example.com/keyward --limit 5 -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's objects, payloads included, as one array)")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many (1 to 200)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		h, err := li.resolveWebhook(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		page, err := li.manager.WebhookDeliveries(cmd.Context(), h.ID, "", limit)
		if err != nil {
			return asFlags(err, map[string]string{"limit": "--limit"})
		}
		if *output == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(page.Items, func(d client.WebhookDelivery) json.RawMessage { return d.Raw }))
		}
		t := newTable(cmd.OutOrStdout())
		t.row("QUEUED", "EVENT", "STATE", "ATTEMPTS", "LAST ANSWER", "ID")
		for _, d := range page.Items {
			t.row(d.CreatedAt.UTC().Format(time.RFC3339), d.EventType, d.State, strconv.Itoa(len(d.Attempts)), lastAnswer(d), d.ID)
		}
		return t.flush()
	})
	return cmd
}

// lastAnswer is what the endpoint answered the latest attempt: a status, or why none.
func lastAnswer(d client.WebhookDelivery) string {
	if len(d.Attempts) == 0 {
		return "-"
	}
	a := d.Attempts[len(d.Attempts)-1]
	if a.StatusCode != nil {
		return strconv.Itoa(*a.StatusCode)
	}
	if a.Error != nil {
		return printable(*a.Error)
	}
	return "-"
}

func newWebhooksRedeliverCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "redeliver WEBHOOK DELIVERY_ID", Short: "Queue a delivery again now, under the same webhook-id",
		Args: cobra.ExactArgs(2), Example: "  keyward webhooks redeliver https://hooks.example.com/keyward 7d0c…"}
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		h, err := li.resolveWebhook(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		d, err := li.manager.RedeliverWebhook(cmd.Context(), h.ID, args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Queued delivery %s (%s, webhook-id %s) again.\n", d.ID, d.EventType, d.WebhookID)
		return nil
	})
	return cmd
}
