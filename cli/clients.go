package cli

// keyward clients (admin): the consumers' OAuth clients in Keycloak. A client's secret is
// printed where the command exists to print it (create, secret show, secret regenerate)
// and read from stdin or a file (test).

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

func newClientsCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "clients",
		Aliases: []string{"client"},
		Short:   "Admins: confidential service-account clients of consumers, in Keycloak",
		Example: "  SECRET=$(keyward clients create --consumer shop --client-id shop-orders)\n" +
			"  keyward clients list --consumer shop\n  printf '%s\\n' \"$SECRET\" | keyward clients test shop-orders\n" +
			"  keyward clients secret regenerate shop-orders > shop-orders.secret",
	}
	secret := &cobra.Command{Use: "secret", Short: "Show or regenerate a client's secret",
		Example: "  keyward clients secret show shop-orders\n  keyward clients secret regenerate shop-orders --out-file shop.secret"}
	secret.AddCommand(NewCmdClientsSecret(f, false, nil), NewCmdClientsSecret(f, true, nil))
	cmd.AddCommand(NewCmdClientsList(f, nil), NewCmdClientsCreate(f, nil), NewCmdClientsShow(f, nil), NewCmdClientsUpdate(f, nil),
		NewCmdClientsEnable(f, true, nil), NewCmdClientsEnable(f, false, nil), NewCmdClientsDelete(f, nil), secret, NewCmdClientsTest(f, nil))
	return cmd
}

// resolveClient finds a client by id or exact client_id.
func (li *loggedIn) resolveClient(ctx context.Context, ref string) (client.Client, error) {
	return findByRef(ctx, ref, li.manager.Client,
		func(ctx context.Context, cursor string) (client.Page[client.Client], error) {
			return li.manager.ListClients(ctx, client.ClientQuery{Q: ref, Limit: 200, Cursor: cursor})
		},
		func(c client.Client) bool { return c.ClientID == ref },
		&exitErr{ExitError, fmt.Errorf("no client with client_id or id %q", ref)})
}

func clientsTable(w io.Writer, cs []client.Client) error {
	t := newTable(w)
	t.row("CLIENT ID", "CONSUMER", "ENVIRONMENT", "ENABLED", "ACL GROUPS", "CREATED", "ID")
	for _, c := range cs {
		t.row(c.ClientID, c.Consumer.Name, c.Environment, yesNo(c.Enabled), strings.Join(c.ACLGroups, ","),
			c.CreatedAt.UTC().Format(time.RFC3339), c.ID)
	}
	return t.flush()
}

func showClient(w io.Writer, output string, c client.Client) error {
	if output == "json" {
		return writeRaw(w, c.Raw)
	}
	return clientsTable(w, []client.Client{c})
}

// updateClient applies up to the client ref names and shows the result.
func (li *loggedIn) updateClient(b *Base, ref string, up client.ClientUpdate) error {
	c, err := li.resolveClient(b.Ctx, ref)
	if err != nil {
		return err
	}
	if c, err = li.manager.UpdateClient(b.Ctx, c.ID, up); err != nil {
		return err
	}
	return showClient(b.Stdout, b.Output, c)
}
