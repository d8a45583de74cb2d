package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ClientsTestOptions is what keyward clients test needs.
type ClientsTestOptions struct {
	Base
	Ref, SecretFile string
}

// NewCmdClientsTest is keyward clients test; runF, when given, runs instead of the command.
func NewCmdClientsTest(f *Factory, runF func(*ClientsTestOptions) error) *cobra.Command {
	opts := &ClientsTestOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "test CLIENT [--secret-file FILE]",
		Short: "Ask Keycloak for a client-credentials token with a secret read from stdin or a file",
		Long: "Try a client-credentials grant with the secret read from stdin (or --secret-file; never a flag\n" +
			"value, which would stay in shell history and ps). Exits 4 when Keycloak refuses the secret.",
		Example: "  keyward clients secret show shop-orders | keyward clients test shop-orders\n" +
			"  keyward clients test shop-orders --secret-file shop.secret -o json",
		Args: cobra.ExactArgs(1),
	}
	opts.outputFlag(cmd, "table", "table or json (the API's object: the decoded token)")
	cmd.Flags().StringVar(&opts.SecretFile, "secret-file", "", "read the secret from this file (- or none: stdin)")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, clientsTestRun))
	return cmd
}

func clientsTestRun(opts *ClientsTestOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		secret, err := readSecret(opts.Stdin, opts.SecretFile)
		if err != nil {
			return err
		}
		c, err := li.resolveClient(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		res, err := li.manager.TestClient(opts.Ctx, c.ID, secret)
		if err != nil {
			return err
		}
		if opts.Output == "json" {
			err = writeRaw(opts.Stdout, res.Raw)
		} else {
			err = tokenTestTable(opts, res)
		}
		if err != nil {
			return err
		}
		if !res.Valid {
			return &exitErr{ExitRefused, fmt.Errorf("Keycloak refused the secret of %s (%s)", printable(c.ClientID), printable(res.Error))}
		}
		return nil
	})
}

func tokenTestTable(opts *ClientsTestOptions, res client.ClientTest) error {
	t := newTable(opts.Stdout)
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
	return t.flush()
}
