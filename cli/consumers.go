package cli

// keyward consumers (admin, realm role keyward-admin): who the OAuth clients are for.

import (
	"context"
	"encoding/json"
	"errors"
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
			"  keyward consumers update shop --acl-group analytics --acl-group finance",
	}
	cmd.AddCommand(newConsumersListCommand(f), newConsumersCreateCommand(f), newConsumersShowCommand(f),
		newConsumersUpdateCommand(f), newConsumersDeleteCommand(f))
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
	t.row("NAME", "ENVIRONMENT", "ACL GROUPS", "CREATED", "ID")
	for _, c := range cs {
		t.row(c.Name, c.Environment, strings.Join(c.ACLGroups, ","), c.CreatedAt.UTC().Format(time.RFC3339), c.ID)
	}
	return t.flush()
}

func showConsumer(w io.Writer, output string, c client.Consumer) error {
	if output == "json" {
		return writeRaw(w, c.Raw)
	}
	return consumersTable(w, []client.Consumer{c})
}

func newConsumersListCommand(f *Factory) *cobra.Command {
	var q client.ConsumerQuery
	cmd := &cobra.Command{Use: "list", Short: "List consumers", Args: cobra.NoArgs,
		Example: "  keyward consumers list --environment production -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	cmd.Flags().StringVarP(&q.Q, "search", "q", "", "search in names and descriptions")
	cmd.Flags().StringVar(&q.Environment, "environment", "", "development, staging or production")
	cmd.Flags().StringVar(&q.Sort, "sort", "", "name (default), -name, created_at or -created_at")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		all, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) (client.Page[client.Consumer], error) {
			qq := q
			qq.Limit, qq.Cursor = 200, cursor
			return li.manager.ListConsumers(ctx, qq)
		})
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(all, func(c client.Consumer) json.RawMessage { return c.Raw }))
		}
		return consumersTable(cmd.OutOrStdout(), all)
	})
	return cmd
}

func newConsumersCreateCommand(f *Factory) *cobra.Command {
	var in client.ConsumerCreate
	cmd := &cobra.Command{Use: "create --name NAME [flags]", Short: "Create a consumer", Args: cobra.NoArgs,
		Example: "  keyward consumers create --name shop --environment production --acl-group analytics"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.Flags().StringVar(&in.Name, "name", "", "the consumer's name (required)")
	cmd.Flags().StringVar(&in.Description, "description", "", "what it is")
	cmd.Flags().StringVar(&in.Environment, "environment", "", "development, staging or production (default production)")
	cmd.Flags().StringSliceVar(&in.ACLGroups, "acl-group", nil, "an ACL group its clients' tokens carry (repeat or comma-separate)")
	_ = cmd.MarkFlagRequired("name")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		c, err := li.manager.CreateConsumer(cmd.Context(), in)
		if err != nil {
			return err
		}
		return showConsumer(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newConsumersShowCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "show CONSUMER", Short: "Show a consumer (by name or id)", Args: cobra.ExactArgs(1),
		Example: "  keyward consumers show shop -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveConsumer(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return showConsumer(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newConsumersUpdateCommand(f *Factory) *cobra.Command {
	var name, description, environment string
	var groups []string
	var noGroups bool
	cmd := &cobra.Command{Use: "update CONSUMER [flags]", Short: "Change a consumer; new ACL groups reach its clients at once",
		Args: cobra.ExactArgs(1), Example: "  keyward consumers update shop --acl-group analytics --acl-group finance"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	flags := cmd.Flags()
	flags.StringVar(&name, "name", "", "a new name")
	flags.StringVar(&description, "description", "", "a new description")
	flags.StringVar(&environment, "environment", "", "development, staging or production")
	flags.StringSliceVar(&groups, "acl-group", nil, "the new set of ACL groups (repeat or comma-separate)")
	flags.BoolVar(&noGroups, "no-acl-groups", false, "remove every ACL group")
	cmd.MarkFlagsMutuallyExclusive("acl-group", "no-acl-groups")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		var up client.ConsumerUpdate
		if flags.Changed("name") {
			up.Name = &name
		}
		if flags.Changed("description") {
			up.Description = &description
		}
		if flags.Changed("environment") {
			up.Environment = &environment
		}
		if flags.Changed("acl-group") {
			up.ACLGroups = &groups
		}
		if noGroups {
			up.ACLGroups = &[]string{}
		}
		if string(mustJSON(up)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward consumers update -h)")}
		}
		c, err := li.resolveConsumer(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if c, err = li.manager.UpdateConsumer(cmd.Context(), c.ID, up); err != nil {
			return err
		}
		return showConsumer(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newConsumersDeleteCommand(f *Factory) *cobra.Command {
	var cascade bool
	cmd := &cobra.Command{Use: "delete CONSUMER [--cascade]", Short: "Delete a consumer (--cascade: and its clients)",
		Args: cobra.ExactArgs(1), Example: "  keyward consumers delete shop --cascade"}
	cmd.Flags().BoolVar(&cascade, "cascade", false, "delete its clients from Keycloak too")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveConsumer(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if err := li.manager.DeleteConsumer(cmd.Context(), c.ID, cascade); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted consumer %s.\n", printable(c.Name))
		return nil
	})
	return cmd
}
