package cli

// Admin commands for webhook endpoints. The signing secret is printed where the command
// exists to print it (create, secret rotate); the delivery log never shows payloads in
// the table (-o json does, as the API answers them).

import (
	"context"
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
	secret.AddCommand(NewCmdWebhooksSecretRotate(f, nil))
	cmd.AddCommand(NewCmdWebhooksList(f, nil), NewCmdWebhooksCreate(f, nil), NewCmdWebhooksShow(f, nil), NewCmdWebhooksUpdate(f, nil),
		NewCmdWebhooksEnable(f, true, nil), NewCmdWebhooksEnable(f, false, nil), NewCmdWebhooksDelete(f, nil), secret,
		NewCmdWebhooksDeliveries(f, nil), NewCmdWebhooksRedeliver(f, nil))
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

// webhookFlags names the flags of a refused webhook request.
func webhookFlags(err error) error {
	return asFlags(err, map[string]string{"url": "--url", "event_types": "--event", "description": "--description",
		"previous_valid_hours": "--overlap", "cursor": "--cursor"})
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

// updateWebhook applies up to the endpoint ref names and shows the result.
func (li *loggedIn) updateWebhook(b *Base, ref string, up client.WebhookUpdate) error {
	h, err := li.resolveWebhook(b.Ctx, ref)
	if err != nil {
		return err
	}
	if h, err = li.manager.UpdateWebhook(b.Ctx, h.ID, up); err != nil {
		return webhookFlags(err)
	}
	return showWebhook(b.Stdout, b.Output, h)
}
