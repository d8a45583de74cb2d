package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ClientsCreateOptions is what keyward clients create needs.
type ClientsCreateOptions struct {
	Base
	In                client.ClientCreate
	Consumer, OutFile string
}

// NewCmdClientsCreate is keyward clients create; runF, when given, runs instead of the command.
func NewCmdClientsCreate(f *Factory, runF func(*ClientsCreateOptions) error) *cobra.Command {
	opts := &ClientsCreateOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "create --consumer CONSUMER [flags]",
		Short: "Provision a client for a consumer: its secret alone on stdout (shown this once)",
		Long: "Provision a confidential service-account client in Keycloak for the consumer. The secret is printed\n" +
			"alone on stdout (or to --out-file, created 0600); what the client is goes to stderr.",
		Example: "  SECRET=$(keyward clients create --consumer shop --client-id shop-orders)\n" +
			"  keyward clients create --consumer shop --out-file shop.secret -o json",
		Args: cobra.NoArgs,
	}
	opts.outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object, with the secret)")
	flags, in := cmd.Flags(), &opts.In
	flags.StringVar(&opts.Consumer, "consumer", "", "the consumer (name or id; required)")
	flags.StringVar(&in.ClientID, "client-id", "", "the OAuth client_id (default: made from the consumer's name)")
	flags.StringVar(&in.Name, "name", "", "a display name (default the client_id)")
	flags.StringVar(&in.Description, "description", "", "what it is for")
	flags.StringSliceVar(&in.RedirectURIs, "redirect-uri", nil, "a redirect URI; with some, the standard flow is on (repeat)")
	flags.StringVar(&opts.OutFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("consumer")
	cmd.RunE = opts.runE(nil, pick(opts, runF, clientsCreateRun))
	return cmd
}

func clientsCreateRun(opts *ClientsCreateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		c, err := li.resolveConsumer(opts.Ctx, opts.Consumer)
		if err != nil {
			return err
		}
		out, err := openSecretOut(opts.Stdout, opts.OutFile)
		if err != nil {
			return err
		}
		created, err := li.manager.CreateClient(opts.Ctx, c.ID, opts.In)
		if err != nil {
			out.abandon()
			return err
		}
		if err := out.writeAs(opts.Output, created.Secret, created.Raw); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Created client %s for consumer %s (ACL groups %s). Its secret is shown this once.\n",
			printable(created.ClientID), printable(c.Name), strings.Join(created.ACLGroups, ","))
		return nil
	})
}
