package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ClientsUpdateOptions is what keyward clients update needs.
type ClientsUpdateOptions struct {
	Base
	Ref    string
	Update client.ClientUpdate
	// the flags read into Update by parse
	name, description string
	uris              []string
	enabled, noURIs   bool
}

// NewCmdClientsUpdate is keyward clients update; runF, when given, runs instead of the command.
func NewCmdClientsUpdate(f *Factory, runF func(*ClientsUpdateOptions) error) *cobra.Command {
	opts := &ClientsUpdateOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "update CLIENT [flags]", Short: "Change a client: name, description, enabled, redirect URIs",
		Args: cobra.ExactArgs(1), Example: "  keyward clients update shop-orders --description 'orders service' --redirect-uri https://shop.example.com/cb"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	flags := cmd.Flags()
	flags.StringVar(&opts.name, "name", "", "a new display name")
	flags.StringVar(&opts.description, "description", "", "a new description")
	flags.BoolVar(&opts.enabled, "enabled", true, "enable (true) or disable (false): Keycloak refuses a disabled client tokens")
	flags.StringSliceVar(&opts.uris, "redirect-uri", nil, "the new set of redirect URIs (repeat)")
	flags.BoolVar(&opts.noURIs, "no-redirect-uris", false, "remove every redirect URI (standard flow off)")
	cmd.MarkFlagsMutuallyExclusive("redirect-uri", "no-redirect-uris")
	cmd.RunE = opts.runE(opts.parse, pick(opts, runF, clientsUpdateRun))
	return cmd
}

// parse reads the flags given into Update (none is a usage error, said after the login
// as it always was).
func (opts *ClientsUpdateOptions) parse(cmd *cobra.Command, args []string) error {
	flags := cmd.Flags()
	opts.Ref, opts.Update = args[0], client.ClientUpdate{}
	up := &opts.Update
	if flags.Changed("name") {
		up.Name = &opts.name
	}
	if flags.Changed("description") {
		up.Description = &opts.description
	}
	if flags.Changed("enabled") {
		up.Enabled = &opts.enabled
	}
	if flags.Changed("redirect-uri") {
		up.RedirectURIs = &opts.uris
	}
	if opts.noURIs {
		up.RedirectURIs = &[]string{}
	}
	return nil
}

func clientsUpdateRun(opts *ClientsUpdateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		if string(mustJSON(opts.Update)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward clients update -h)")}
		}
		return li.updateClient(&opts.Base, opts.Ref, opts.Update)
	})
}
