package cli

// keyward clients (admin): the consumers' OAuth clients in Keycloak. A client's secret is
// printed where the command exists to print it (create, secret show, secret regenerate)
// and read from stdin or a file (test).

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
	secret.AddCommand(newClientSecretCommand(f, false), newClientSecretCommand(f, true))
	cmd.AddCommand(newClientsListCommand(f), newClientsCreateCommand(f), newClientsShowCommand(f), newClientsUpdateCommand(f),
		newClientsEnableCommand(f, true), newClientsEnableCommand(f, false), newClientsDeleteCommand(f), secret, newClientsTestCommand(f))
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

func newClientsListCommand(f *Factory) *cobra.Command {
	var q client.ClientQuery
	var consumer, enabled string
	cmd := &cobra.Command{Use: "list", Short: "List clients", Args: cobra.NoArgs,
		Example: "  keyward clients list --consumer shop --enabled true"}
	output := outputFlag(cmd, "table", "table or json (the API's objects, as one array)")
	flags := cmd.Flags()
	flags.StringVar(&consumer, "consumer", "", "only this consumer's clients (name or id)")
	flags.StringVar(&q.Environment, "environment", "", "development, staging or production")
	flags.StringVar(&enabled, "enabled", "", "true or false")
	flags.StringVarP(&q.Q, "search", "q", "", "search in client_id, name and description")
	flags.StringVar(&q.Sort, "sort", "", "-created_at (default), created_at, client_id or -client_id")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		switch enabled {
		case "true", "false":
			b := enabled == "true"
			q.Enabled = &b
		case "":
		default:
			return &exitErr{ExitUsage, errors.New("--enabled: give true or false")}
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

func newClientsCreateCommand(f *Factory) *cobra.Command {
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
	flags := cmd.Flags()
	flags.StringVar(&consumer, "consumer", "", "the consumer (name or id; required)")
	flags.StringVar(&in.ClientID, "client-id", "", "the OAuth client_id (default: made from the consumer's name)")
	flags.StringVar(&in.Name, "name", "", "a display name (default the client_id)")
	flags.StringVar(&in.Description, "description", "", "what it is for")
	flags.StringSliceVar(&in.RedirectURIs, "redirect-uri", nil, "a redirect URI; with some, the standard flow is on (repeat)")
	flags.StringVar(&outFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("consumer")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
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

func newClientsShowCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "show CLIENT", Short: "Show a client (by client_id or id; never its secret)", Args: cobra.ExactArgs(1),
		Example: "  keyward clients show shop-orders -o json"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		c, err := li.resolveClient(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return showClient(cmd.OutOrStdout(), *output, c)
	})
	return cmd
}

func newClientsUpdateCommand(f *Factory) *cobra.Command {
	var name, description string
	var uris []string
	var enabled, noURIs bool
	cmd := &cobra.Command{Use: "update CLIENT [flags]", Short: "Change a client: name, description, enabled, redirect URIs",
		Args: cobra.ExactArgs(1), Example: "  keyward clients update shop-orders --description 'orders service' --redirect-uri https://shop.example.com/cb"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	flags := cmd.Flags()
	flags.StringVar(&name, "name", "", "a new display name")
	flags.StringVar(&description, "description", "", "a new description")
	flags.BoolVar(&enabled, "enabled", true, "enable (true) or disable (false): Keycloak refuses a disabled client tokens")
	flags.StringSliceVar(&uris, "redirect-uri", nil, "the new set of redirect URIs (repeat)")
	flags.BoolVar(&noURIs, "no-redirect-uris", false, "remove every redirect URI (standard flow off)")
	cmd.MarkFlagsMutuallyExclusive("redirect-uri", "no-redirect-uris")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		var up client.ClientUpdate
		if flags.Changed("name") {
			up.Name = &name
		}
		if flags.Changed("description") {
			up.Description = &description
		}
		if flags.Changed("enabled") {
			up.Enabled = &enabled
		}
		if flags.Changed("redirect-uri") {
			up.RedirectURIs = &uris
		}
		if noURIs {
			up.RedirectURIs = &[]string{}
		}
		if string(mustJSON(up)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward clients update -h)")}
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

func newClientsEnableCommand(f *Factory, enable bool) *cobra.Command {
	use, short := "enable CLIENT", "Enable a client"
	if !enable {
		use, short = "disable CLIENT", "Disable a client: Keycloak refuses it tokens"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), Example: "  keyward clients " + strings.Fields(use)[0] + " shop-orders"}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		return updateClient(cmd, li, args[0], *output, client.ClientUpdate{Enabled: &enable})
	})
	return cmd
}

func newClientsDeleteCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "delete CLIENT", Short: "Delete a client from Keycloak and Keyward", Args: cobra.ExactArgs(1),
		Example: "  keyward clients delete shop-orders"}
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
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

func newClientSecretCommand(f *Factory, regenerate bool) *cobra.Command {
	var outFile string
	use, short := "show CLIENT", "Print a client's secret alone on stdout (the view is audited)"
	if regenerate {
		use, short = "regenerate CLIENT", "Replace a client's secret (the old one stops at once); the new one alone on stdout"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1),
		Example: "  keyward clients secret " + strings.Fields(use)[0] + " shop-orders --out-file shop.secret"}
	output := outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object)")
	cmd.Flags().StringVar(&outFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
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

func newClientsTestCommand(f *Factory) *cobra.Command {
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
	cmd.RunE = f.loggedInCmd(adminFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		secret, err := readSecret(f.Stdin, secretFile)
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
			return &exitErr{ExitRefused, fmt.Errorf("Keycloak refused the secret of %s (%s)", printable(c.ClientID), printable(res.Error))}
		}
		return nil
	})
	return cmd
}
