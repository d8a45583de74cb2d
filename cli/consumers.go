package cli

// keyward consumers (admin, realm role keyward-admin): who the OAuth clients are for.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

func newConsumersCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "consumers",
		Aliases: []string{"consumer"},
		Short:   "Admins: consumers (applications or teams calling the APIs) and their ACL groups",
		Example: "  keyward consumers create --name shop --acl-group analytics\n  keyward consumers list\n" +
			"  keyward consumers update shop --acl-group analytics --acl-group finance\n  keyward consumers disable shop",
	}
	cmd.AddCommand(NewCmdConsumersList(f, nil), NewCmdConsumersCreate(f, nil), NewCmdConsumersShow(f, nil),
		NewCmdConsumersUpdate(f, nil), NewCmdConsumersEnable(f, true, nil), NewCmdConsumersEnable(f, false, nil), NewCmdConsumersDelete(f, nil))
	return cmd
}

// resolveConsumer finds a consumer by id or exact name.
func (li *loggedIn) resolveConsumer(ctx context.Context, ref string) (client.Consumer, error) {
	return findByRef(ctx, ref, li.manager.Consumer,
		func(ctx context.Context, cursor string) (client.Page[client.Consumer], error) {
			return li.manager.ListConsumers(ctx, client.ConsumerQuery{Q: ref, Limit: 200, Cursor: cursor})
		},
		func(c client.Consumer) bool { return c.Name == ref },
		&exitErr{ExitError, fmt.Errorf("no consumer named or with id %q", ref)})
}

func consumersTable(w io.Writer, cs []client.Consumer) error {
	t := newTable(w)
	t.row("NAME", "ENVIRONMENT", "ENABLED", "ACL GROUPS", "CREATED", "ID")
	for _, c := range cs {
		t.row(c.Name, c.Environment, yesNo(c.Enabled), strings.Join(c.ACLGroups, ","), c.CreatedAt.UTC().Format(time.RFC3339), c.ID)
	}
	return t.flush()
}

func showConsumer(w io.Writer, output string, c client.Consumer) error {
	if output == "json" {
		return writeRaw(w, c.Raw)
	}
	return consumersTable(w, []client.Consumer{c})
}
