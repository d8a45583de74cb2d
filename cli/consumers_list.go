package cli

import (
	"context"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ConsumersListOptions is what keyward consumers list needs.
type ConsumersListOptions struct {
	Base
	Query client.ConsumerQuery
}

// NewCmdConsumersList is keyward consumers list; runF, when given, runs instead of the command.
func NewCmdConsumersList(f *Factory, runF func(*ConsumersListOptions) error) *cobra.Command {
	opts := &ConsumersListOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "list", Short: "List consumers", Args: cobra.NoArgs,
		Example: "  keyward consumers list --environment production -o json"}
	opts.outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	cmd.Flags().StringVarP(&opts.Query.Q, "search", "q", "", "search in names and descriptions")
	cmd.Flags().StringVar(&opts.Query.Environment, "environment", "", "development, staging or production")
	cmd.Flags().StringVar(&opts.Query.Sort, "sort", "", "name (default), -name, created_at or -created_at")
	cmd.RunE = opts.runE(nil, pick(opts, runF, consumersListRun))
	return cmd
}

func consumersListRun(opts *ConsumersListOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		all, err := allPages(opts.Ctx, func(ctx context.Context, cursor string) (client.Page[client.Consumer], error) {
			q := opts.Query
			q.Limit, q.Cursor = 200, cursor
			return li.manager.ListConsumers(ctx, q)
		})
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRawList(opts.Stdout, rawsOf(all, func(c client.Consumer) json.RawMessage { return c.Raw }))
		}
		return consumersTable(opts.Stdout, all)
	})
}
