package cli

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

// KeysListOptions is what keyward keys list needs.
type KeysListOptions struct {
	Base
	Query client.KeyQuery
}

// NewCmdKeysList is keyward keys list; runF, when given, runs instead of the command.
func NewCmdKeysList(f *Factory, runF func(*KeysListOptions) error) *cobra.Command {
	opts := &KeysListOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List keys: name, prefix, status, environment, last used, expires",
		Example: "  keyward keys list\n  keyward keys list --status active --environment production -o json\n" +
			"  keyward keys list --owner alice        # admins\n" +
			"  keyward keys list --consumer shop      # admins: a consumer's keys",
		Args: cobra.NoArgs,
	}
	opts.outputFlag(cmd, "table", "table or json (the API's key objects, as one array)")
	cmd.RunE = opts.runE(nil, pick(opts, runF, keysListRun))
	flags := cmd.Flags()
	q := &opts.Query
	flags.StringVar(&q.Owner, "owner", "", "admins: the user (username or id) whose keys to list")
	flags.StringVar(&q.Consumer, "consumer", "", "admins: the consumer (name or id) whose keys to list")
	flags.StringVarP(&q.Q, "search", "q", "", "search in names and descriptions")
	flags.StringVar(&q.Status, "status", "", "one of "+strings.Join(api.KeyStatuses, ", "))
	flags.StringVar(&q.Environment, "environment", "", "development, staging or production")
	flags.StringVar(&q.Expires, "expires", "", "30d, expired or never")
	flags.StringVar(&q.Sort, "sort", "", "created_at (default), expires_at, name or last_used_at")
	flags.StringVar(&q.Order, "order", "", "desc (default) or asc")
	cmd.MarkFlagsMutuallyExclusive("owner", "consumer")
	return cmd
}

func keysListRun(opts *KeysListOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		keys, err := allPages(opts.Ctx, func(ctx context.Context, cursor string) (client.Page[client.Key], error) {
			q := opts.Query
			q.Limit, q.Cursor = 200, cursor
			return li.manager.ListKeys(ctx, q)
		})
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			return writeRawList(opts.Stdout, rawsOf(keys, func(k client.Key) json.RawMessage { return k.Raw }))
		}
		others := opts.Query.Owner != "" || opts.Query.Consumer != "" // an admin's list without --owner spans every user
		for _, k := range keys {
			others = others || k.OwnerUsername != li.username
		}
		return keysTable(opts.Stdout, keys, others)
	})
}
