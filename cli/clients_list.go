package cli

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ClientsListOptions is what keyward clients list needs.
type ClientsListOptions struct {
	Base
	Query    client.ClientQuery
	Consumer string // name or id, looked up
	Enabled  string // true, false or "" (either)
}

// NewCmdClientsList is keyward clients list; runF, when given, runs instead of the command.
func NewCmdClientsList(f *Factory, runF func(*ClientsListOptions) error) *cobra.Command {
	opts := &ClientsListOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "list", Short: "List clients", Args: cobra.NoArgs,
		Example: "  keyward clients list --consumer shop --enabled true"}
	opts.outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	flags, q := cmd.Flags(), &opts.Query
	flags.StringVar(&opts.Consumer, "consumer", "", "only this consumer's clients (name or id)")
	flags.StringVar(&q.Environment, "environment", "", "development, staging or production")
	flags.StringVar(&opts.Enabled, "enabled", "", "true or false")
	flags.StringVarP(&q.Q, "search", "q", "", "search in client_id, name and description")
	flags.StringVar(&q.Sort, "sort", "", "-created_at (default), created_at, client_id or -client_id")
	cmd.RunE = opts.runE(nil, pick(opts, runF, clientsListRun))
	return cmd
}

func clientsListRun(opts *ClientsListOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		q := opts.Query
		switch opts.Enabled { // after the login, as it always was
		case "true", "false":
			b := opts.Enabled == "true"
			q.Enabled = &b
		case "":
		default:
			return &exitErr{ExitUsage, errors.New("--enabled: give true or false")}
		}
		if opts.Consumer != "" {
			c, err := li.resolveConsumer(opts.Ctx, opts.Consumer)
			if err != nil {
				return err
			}
			q.Consumer = c.ID
		}
		all, err := allPages(opts.Ctx, func(ctx context.Context, cursor string) (client.Page[client.Client], error) {
			qq := q
			qq.Limit, qq.Cursor = 200, cursor
			return li.manager.ListClients(ctx, qq)
		})
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRawList(opts.Stdout, rawsOf(all, func(c client.Client) json.RawMessage { return c.Raw }))
		}
		return clientsTable(opts.Stdout, all)
	})
}
