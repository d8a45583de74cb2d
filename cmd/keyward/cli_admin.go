package main

// Admin commands (realm role keyward-admin): consumers, their OAuth clients in Keycloak
// and the ACL groups. A client's secret is printed where the command exists to print it
// (create, secret show, secret regenerate) and read from stdin or a file (test).

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

var adminFlags = map[string]string{
	"name": "--name", "description": "--description", "environment": "--environment", "acl_groups": "--acl-group",
	"client_id": "--client-id", "redirect_uris": "--redirect-uri", "enabled": "--enabled", "q": "--search",
	"sort": "--sort", "consumer": "--consumer", "secret": "the secret",
}

// loggedInCmd runs fn with the login, turning a refused call into its line and code.
func (e *cliEnv) loggedInCmd(fn func(cmd *cobra.Command, args []string, li *loggedIn) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if f := cmd.Flags().Lookup("output"); f != nil {
			allowed := []string{"table", "json"}
			if f.DefValue == "secret" {
				allowed = []string{"secret", "json"}
			}
			if err := checkOutput(f.Value.String(), allowed...); err != nil {
				return err
			}
		}
		li, err := e.login(cmd.Context())
		if err != nil {
			return err
		}
		if err := fn(cmd, args, li); err != nil {
			var x *exitErr
			if errors.As(err, &x) {
				return x
			}
			return asFlags(err, adminFlags)
		}
		return nil
	}
}

func outputFlag(cmd *cobra.Command, def, help string) *string {
	var s string
	cmd.Flags().StringVarP(&s, "output", "o", def, help)
	return &s
}

func rawsOf[T any](items []T, raw func(T) json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = raw(it)
	}
	return out
}

// --- consumers ---

func newConsumersCommand(e *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "consumers",
		Aliases: []string{"consumer"},
		Short:   "Admins: consumers (applications or teams calling the APIs) and their ACL groups",
		Example: "  keyward consumers create --name shop --acl-group analytics\n  keyward consumers list\n" +
			"  keyward consumers update shop --acl-group analytics --acl-group finance",
	}
	cmd.AddCommand(newConsumersListCommand(e), newConsumersCreateCommand(e), newConsumersShowCommand(e),
		newConsumersUpdateCommand(e), newConsumersDeleteCommand(e))
	return cmd
}

// resolveConsumer finds a consumer by id or exact name.
func (li *loggedIn) resolveConsumer(ctx context.Context, ref string) (client.Consumer, error) {
	if uuidPattern.MatchString(ref) {
		c, err := li.manager.Consumer(ctx, ref)
		if !errors.Is(err, client.ErrNotFound) {
			return c, err
		}
	}
	all, err := allPages(ctx, func(ctx context.Context, cursor string) (client.Page[client.Consumer], error) {
		return li.manager.ListConsumers(ctx, client.ConsumerQuery{Q: ref, Limit: 200, Cursor: cursor})
	})
	if err != nil {
		return client.Consumer{}, err
	}
	for _, c := range all {
		if c.Name == ref {
			return c, nil
		}
	}
	return client.Consumer{}, &exitErr{exitError, fmt.Errorf("no consumer named or with id %q", ref)}
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

func newConsumersListCommand(e *cliEnv) *cobra.Command {
	var q client.ConsumerQuery
	cmd := &cobra.Command{Use: "list", Short: "List consumers", Args: cobra.NoArgs,
		Example: "  keyward consumers list --environment production -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	cmd.Flags().StringVarP(&q.Q, "search", "q", "", "search in names and descriptions")
	cmd.Flags().StringVar(&q.Environment, "environment", "", "development, staging or production")
	cmd.Flags().StringVar(&q.Sort, "sort", "", "name (default), -name, created_at or -created_at")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, _ []string, li *loggedIn) error {
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

func newConsumersCreateCommand(e *cliEnv) *cobra.Command {
	var in client.ConsumerCreate
	cmd := &cobra.Command{Use: "create --name NAME [flags]", Short: "Create a consumer", Args: cobra.NoArgs,
		Example: "  keyward consumers create --name shop --environment production --acl-group analytics"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.Flags().StringVar(&in.Name, "name", "", "the consumer's name (required)")
	cmd.Flags().StringVar(&in.Description, "description", "", "what it is")
	cmd.Flags().StringVar(&in.Environment, "environment", "", "development, staging or production (default production)")
	cmd.Flags().StringSliceVar(&in.ACLGroups, "acl-group", nil, "an ACL group its clients' tokens carry (repeat or comma-separate)")
	_ = cmd.MarkFlagRequired("name")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		c, err := li.manager.CreateConsumer(cmd.Context(), in)
		if err != nil {
			return err
		}
		return showConsumer(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newConsumersShowCommand(e *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "show CONSUMER", Short: "Show a consumer (by name or id)", Args: cobra.ExactArgs(1),
		Example: "  keyward consumers show shop -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveConsumer(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return showConsumer(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newConsumersUpdateCommand(e *cliEnv) *cobra.Command {
	var name, description, environment string
	var groups []string
	var noGroups bool
	cmd := &cobra.Command{Use: "update CONSUMER [flags]", Short: "Change a consumer; new ACL groups reach its clients at once",
		Args: cobra.ExactArgs(1), Example: "  keyward consumers update shop --acl-group analytics --acl-group finance"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "a new name")
	f.StringVar(&description, "description", "", "a new description")
	f.StringVar(&environment, "environment", "", "development, staging or production")
	f.StringSliceVar(&groups, "acl-group", nil, "the new set of ACL groups (repeat or comma-separate)")
	f.BoolVar(&noGroups, "no-acl-groups", false, "remove every ACL group")
	cmd.MarkFlagsMutuallyExclusive("acl-group", "no-acl-groups")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		var up client.ConsumerUpdate
		if f.Changed("name") {
			up.Name = &name
		}
		if f.Changed("description") {
			up.Description = &description
		}
		if f.Changed("environment") {
			up.Environment = &environment
		}
		if f.Changed("acl-group") {
			up.ACLGroups = &groups
		}
		if noGroups {
			up.ACLGroups = &[]string{}
		}
		if string(mustJSON(up)) == "{}" {
			return &exitErr{exitUsage, errors.New("nothing to change: give at least one flag (keyward consumers update -h)")}
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

func newConsumersDeleteCommand(e *cliEnv) *cobra.Command {
	var cascade bool
	cmd := &cobra.Command{Use: "delete CONSUMER [--cascade]", Short: "Delete a consumer (--cascade: and its clients)",
		Args: cobra.ExactArgs(1), Example: "  keyward consumers delete shop --cascade"}
	cmd.Flags().BoolVar(&cascade, "cascade", false, "delete its clients from Keycloak too")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
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

// --- clients ---

func newClientsCommand(e *cliEnv) *cobra.Command {
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
	secret.AddCommand(newClientSecretCommand(e, false), newClientSecretCommand(e, true))
	cmd.AddCommand(newClientsListCommand(e), newClientsCreateCommand(e), newClientsShowCommand(e), newClientsUpdateCommand(e),
		newClientsEnableCommand(e, true), newClientsEnableCommand(e, false), newClientsDeleteCommand(e), secret, newClientsTestCommand(e))
	return cmd
}

// resolveClient finds a client by id or exact client_id.
func (li *loggedIn) resolveClient(ctx context.Context, ref string) (client.Client, error) {
	if uuidPattern.MatchString(ref) {
		c, err := li.manager.Client(ctx, ref)
		if !errors.Is(err, client.ErrNotFound) {
			return c, err
		}
	}
	all, err := allPages(ctx, func(ctx context.Context, cursor string) (client.Page[client.Client], error) {
		return li.manager.ListClients(ctx, client.ClientQuery{Q: ref, Limit: 200, Cursor: cursor})
	})
	if err != nil {
		return client.Client{}, err
	}
	for _, c := range all {
		if c.ClientID == ref {
			return c, nil
		}
	}
	return client.Client{}, &exitErr{exitError, fmt.Errorf("no client with client_id or id %q", ref)}
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

func newClientsListCommand(e *cliEnv) *cobra.Command {
	var q client.ClientQuery
	var consumer, enabled string
	cmd := &cobra.Command{Use: "list", Short: "List clients", Args: cobra.NoArgs,
		Example: "  keyward clients list --consumer shop --enabled true"}
	output := outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	f := cmd.Flags()
	f.StringVar(&consumer, "consumer", "", "only this consumer's clients (name or id)")
	f.StringVar(&q.Environment, "environment", "", "development, staging or production")
	f.StringVar(&enabled, "enabled", "", "true or false")
	f.StringVarP(&q.Q, "search", "q", "", "search in client_id, name and description")
	f.StringVar(&q.Sort, "sort", "", "-created_at (default), created_at, client_id or -client_id")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		switch enabled {
		case "true", "false":
			b := enabled == "true"
			q.Enabled = &b
		case "":
		default:
			return &exitErr{exitUsage, errors.New("--enabled: give true or false")}
		}
		if consumer != "" {
			c, err := li.resolveConsumer(cmd.Context(), consumer)
			if err != nil {
				return err
			}
			q.Consumer = c.ID
		}
		all, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) (client.Page[client.Client], error) {
			qq := q
			qq.Limit, qq.Cursor = 200, cursor
			return li.manager.ListClients(ctx, qq)
		})
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(all, func(c client.Client) json.RawMessage { return c.Raw }))
		}
		return clientsTable(cmd.OutOrStdout(), all)
	})
	return cmd
}

func newClientsCreateCommand(e *cliEnv) *cobra.Command {
	var in client.ClientCreate
	var consumer, outFile string
	cmd := &cobra.Command{
		Use:   "create --consumer CONSUMER [flags]",
		Short: "Provision a client for a consumer: its secret alone on stdout (shown this once)",
		Long: "Provision a confidential service-account client in Keycloak for the consumer. The secret is printed\n" +
			"alone on stdout (or to --out-file, created 0600); what the client is goes to stderr.",
		Example: "  SECRET=$(keyward clients create --consumer shop --client-id shop-orders)\n" +
			"  keyward clients create --consumer shop --out-file shop.secret -o json",
		Args: cobra.NoArgs,
	}
	output := outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object, with the secret)")
	f := cmd.Flags()
	f.StringVar(&consumer, "consumer", "", "the consumer (name or id; required)")
	f.StringVar(&in.ClientID, "client-id", "", "the OAuth client_id (default: made from the consumer's name)")
	f.StringVar(&in.Name, "name", "", "a display name (default the client_id)")
	f.StringVar(&in.Description, "description", "", "what it is for")
	f.StringSliceVar(&in.RedirectURIs, "redirect-uri", nil, "a redirect URI; with some, the standard flow is on (repeat)")
	f.StringVar(&outFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("consumer")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		c, err := li.resolveConsumer(cmd.Context(), consumer)
		if err != nil {
			return err
		}
		out, err := openSecretOut(cmd.OutOrStdout(), outFile)
		if err != nil {
			return err
		}
		created, err := li.manager.CreateClient(cmd.Context(), c.ID, in)
		if err != nil {
			out.abandon()
			return err
		}
		if err := out.writeAs(*output, created.Secret, created.Raw); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Created client %s for consumer %s (ACL groups %s). Its secret is shown this once.\n",
			printable(created.ClientID), printable(c.Name), strings.Join(created.ACLGroups, ","))
		return nil
	})
	return cmd
}

func newClientsShowCommand(e *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "show CLIENT", Short: "Show a client (by client_id or id; never its secret)", Args: cobra.ExactArgs(1),
		Example: "  keyward clients show shop-orders -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveClient(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return showClient(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newClientsUpdateCommand(e *cliEnv) *cobra.Command {
	var name, description string
	var uris []string
	var enabled, noURIs bool
	cmd := &cobra.Command{Use: "update CLIENT [flags]", Short: "Change a client: name, description, enabled, redirect URIs",
		Args: cobra.ExactArgs(1), Example: "  keyward clients update shop-orders --description 'orders service' --redirect-uri https://shop.example.com/cb"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "a new display name")
	f.StringVar(&description, "description", "", "a new description")
	f.BoolVar(&enabled, "enabled", true, "enable (true) or disable (false): Keycloak refuses a disabled client tokens")
	f.StringSliceVar(&uris, "redirect-uri", nil, "the new set of redirect URIs (repeat)")
	f.BoolVar(&noURIs, "no-redirect-uris", false, "remove every redirect URI (standard flow off)")
	cmd.MarkFlagsMutuallyExclusive("redirect-uri", "no-redirect-uris")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		var up client.ClientUpdate
		if f.Changed("name") {
			up.Name = &name
		}
		if f.Changed("description") {
			up.Description = &description
		}
		if f.Changed("enabled") {
			up.Enabled = &enabled
		}
		if f.Changed("redirect-uri") {
			up.RedirectURIs = &uris
		}
		if noURIs {
			up.RedirectURIs = &[]string{}
		}
		if string(mustJSON(up)) == "{}" {
			return &exitErr{exitUsage, errors.New("nothing to change: give at least one flag (keyward clients update -h)")}
		}
		return updateClient(cmd, li, args[0], *output, up)
	})
	return cmd
}

func updateClient(cmd *cobra.Command, li *loggedIn, ref, output string, up client.ClientUpdate) error {
	c, err := li.resolveClient(cmd.Context(), ref)
	if err != nil {
		return err
	}
	if c, err = li.manager.UpdateClient(cmd.Context(), c.ID, up); err != nil {
		return err
	}
	return showClient(cmd.OutOrStdout(), output, c)
}

func newClientsEnableCommand(e *cliEnv, enable bool) *cobra.Command {
	use, short := "enable CLIENT", "Enable a client"
	if !enable {
		use, short = "disable CLIENT", "Disable a client: Keycloak refuses it tokens"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), Example: "  keyward clients " + strings.Fields(use)[0] + " shop-orders"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		return updateClient(cmd, li, args[0], *output, client.ClientUpdate{Enabled: &enable})
	})
	return cmd
}

func newClientsDeleteCommand(e *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "delete CLIENT", Short: "Delete a client from Keycloak and Keyward", Args: cobra.ExactArgs(1),
		Example: "  keyward clients delete shop-orders"}
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveClient(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if err := li.manager.DeleteClient(cmd.Context(), c.ID); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted client %s.\n", printable(c.ClientID))
		return nil
	})
	return cmd
}

func newClientSecretCommand(e *cliEnv, regenerate bool) *cobra.Command {
	var outFile string
	use, short := "show CLIENT", "Print a client's secret alone on stdout (the view is audited)"
	if regenerate {
		use, short = "regenerate CLIENT", "Replace a client's secret (the old one stops at once); the new one alone on stdout"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
		Example: "  keyward clients secret " + strings.Fields(use)[0] + " shop-orders --out-file shop.secret"}
	output := outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object)")
	cmd.Flags().StringVar(&outFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveClient(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		out, err := openSecretOut(cmd.OutOrStdout(), outFile)
		if err != nil {
			return err
		}
		get := li.manager.ClientSecret
		if regenerate {
			get = li.manager.RegenerateClientSecret
		}
		s, err := get(cmd.Context(), c.ID)
		if err != nil {
			out.abandon()
			return err
		}
		if err := out.writeAs(*output, s.Secret, s.Raw); err != nil {
			return err
		}
		if regenerate {
			fmt.Fprintf(cmd.ErrOrStderr(), "Regenerated the secret of %s: the old one no longer works.\n", printable(c.ClientID))
		}
		return nil
	})
	return cmd
}

func newClientsTestCommand(e *cliEnv) *cobra.Command {
	var secretFile string
	cmd := &cobra.Command{
		Use:   "test CLIENT [--secret-file FILE]",
		Short: "Ask Keycloak for a client-credentials token with a secret read from stdin or a file",
		Long: "Try a client-credentials grant with the secret read from stdin (or --secret-file; never a flag\n" +
			"value, which would stay in shell history and ps). Exits 4 when Keycloak refuses the secret.",
		Example: "  keyward clients secret show shop-orders | keyward clients test shop-orders\n" +
			"  keyward clients test shop-orders --secret-file shop.secret -o json",
		Args: cobra.ExactArgs(1),
	}
	output := outputFlag(cmd, "table", "table or json (the API's object: the decoded token)")
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from this file (- or none: stdin)")
	cmd.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		secret, err := readSecret(e.stdin, secretFile)
		if err != nil {
			return err
		}
		c, err := li.resolveClient(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		res, err := li.manager.TestClient(cmd.Context(), c.ID, secret)
		if err != nil {
			return err
		}
		if *output == "json" {
			if err := writeRaw(cmd.OutOrStdout(), res.Raw); err != nil {
				return err
			}
		} else {
			t := newTable(cmd.OutOrStdout())
			t.row("valid", yesNo(res.Valid))
			if res.Error != "" {
				t.row("error", res.Error)
			}
			if res.Valid {
				t.row("scope", res.Scope)
				t.row("expires in", (time.Duration(res.ExpiresIn) * time.Second).String())
				t.row("acl_groups claim", yesNo(res.ACLClaimPresent)+" "+strings.Join(res.ACLGroups, ","))
				t.row("subject", fmt.Sprint(res.Payload["sub"]))
				t.row("issuer", fmt.Sprint(res.Payload["iss"]))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
		if !res.Valid {
			return &exitErr{exitRefused, fmt.Errorf("Keycloak refused the secret of %s (%s)", printable(c.ClientID), printable(res.Error))}
		}
		return nil
	})
	return cmd
}

// --- ACL groups ---

func newACLGroupsCommand(e *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "acl-groups",
		Aliases: []string{"acl-group"},
		Short:   "Admins: ACL groups (Keycloak groups whose names tokens carry in acl_groups)",
		Example: "  keyward acl-groups list\n  keyward acl-groups create partners --description 'partner APIs'\n  keyward acl-groups delete partners",
	}
	list := &cobra.Command{Use: "list", Short: "List the ACL groups", Args: cobra.NoArgs, Example: "  keyward acl-groups list -o json"}
	listOut := outputFlag(list, "table", "table or json (the API's objects, as one array)")
	list.RunE = e.loggedInCmd(func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		gs, err := li.manager.ListACLGroups(cmd.Context())
		if err != nil {
			return err
		}
		if *listOut == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(gs, func(g client.ACLGroup) json.RawMessage { return g.Raw }))
		}
		t := newTable(cmd.OutOrStdout())
		t.row("NAME", "DESCRIPTION", "PATH")
		for _, g := range gs {
			t.row(g.Name, g.Description, g.Path)
		}
		return t.flush()
	})
	var description string
	create := &cobra.Command{Use: "create NAME [--description TEXT]", Short: "Create an ACL group in Keycloak", Args: cobra.ExactArgs(1),
		Example: "  keyward acl-groups create partners --description 'partner APIs'"}
	createOut := outputFlag(create, "table", "table or json (the API's object)")
	create.Flags().StringVar(&description, "description", "", "what membership means")
	create.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		g, err := li.manager.CreateACLGroup(cmd.Context(), args[0], description)
		if err != nil {
			return err
		}
		if *createOut == "json" {
			return writeRaw(cmd.OutOrStdout(), g.Raw)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Created ACL group %s (%s).\n", printable(g.Name), printable(g.Path))
		return nil
	})
	del := &cobra.Command{Use: "delete NAME", Short: "Delete an ACL group (no consumer may use it, no member be in it)",
		Args: cobra.ExactArgs(1), Example: "  keyward acl-groups delete partners"}
	del.RunE = e.loggedInCmd(func(cmd *cobra.Command, args []string, li *loggedIn) error {
		if err := li.manager.DeleteACLGroup(cmd.Context(), args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted ACL group %s.\n", printable(args[0]))
		return nil
	})
	cmd.AddCommand(list, create, del)
	return cmd
}
