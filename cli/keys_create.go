package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// KeysCreateOptions is what keyward keys create needs.
type KeysCreateOptions struct {
	Base
	In      client.KeyCreate
	OutFile string
	// the flags read into In by parse
	texts                                     textFlags
	expiresIn, expiresAt, rateLimit, metadata string
	neverExpires                              bool
}

// NewCmdKeysCreate is keyward keys create; runF, when given, runs instead of the command.
func NewCmdKeysCreate(f *Factory, runF func(*KeysCreateOptions) error) *cobra.Command {
	opts := &KeysCreateOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "create --name NAME [flags]",
		Short: "Create a key: the key alone on stdout (shown this once)",
		Long: "Create an API key. The key is printed alone on stdout (or written to --out-file, created 0600),\n" +
			"this once: Keyward keeps only its hash. What is said about it goes to stderr.",
		Example: "  KEY=$(keyward keys create --name ci --expires-in 90d --scope profile)\n" +
			"  keyward keys create --name nightly --environment staging --rate-limit 100/1m --ip-allow 203.0.113.0/24 --out-file nightly.key\n" +
			"  keyward keys create --name report --owner alice --never-expires   # admins, for a user\n" +
			"  keyward keys create --name reader --role reports-read --role shop-api:orders-read   # only these of your roles\n" +
			"  keyward keys create --name orders --consumer shop                 # admins, for a consumer",
		Args: cobra.NoArgs,
	}
	opts.outputFlag(cmd, "key", "key (the key alone) or json (the API's object, with the key)")
	cmd.RunE = opts.runE(opts.parse, pick(opts, runF, keysCreateRun))
	flags := cmd.Flags()
	in := &opts.In
	opts.texts = bindTextFlags(flags, false)
	flags.StringVar(&opts.expiresIn, "expires-in", "", "expire after this long: 90d, 12w, 1y (default 365d)")
	flags.StringVar(&opts.expiresAt, "expires-at", "", "expire at this RFC 3339 time")
	flags.BoolVar(&opts.neverExpires, "never-expires", false, "the key never expires")
	flags.StringSliceVar(&in.Scopes, "scope", nil, "a Keycloak client scope the key may request (repeat or comma-separate)")
	flags.StringVar(&opts.metadata, "metadata", "", "a JSON object kept with the key, or @file")
	flags.StringVar(&opts.rateLimit, "rate-limit", "", "exchanges allowed per window: 100/1m, 1000/1h, or unlimited")
	flags.StringSliceVar(&in.IPAllowlist, "ip-allow", nil, "a CIDR the key is accepted from (repeat or comma-separate)")
	flags.StringSliceVar(&in.Roles, "role", nil, "limit the key to this role of its owner: a realm role, or <clientId>:<role> (repeat or comma-separate)")
	flags.StringSliceVar(&in.ACLGroups, "acl-group", nil, "refused by the server: Keycloak cannot limit a token's ACL groups (a key carries all of its owner's)")
	flags.StringVar(&in.Consumer, "consumer", "", "admins: create the key for this consumer (name or id): it is exchanged for the consumer's service-account token")
	flags.StringVar(&opts.OutFile, "out-file", "", "write the key to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("name")
	cmd.MarkFlagsMutuallyExclusive("expires-in", "expires-at", "never-expires")
	cmd.MarkFlagsMutuallyExclusive("owner", "consumer")
	return cmd
}

// parse reads the flags that need reading into In.
func (opts *KeysCreateOptions) parse(cmd *cobra.Command, _ []string) error {
	flags := cmd.Flags()
	opts.texts.into(flags, &opts.In)
	if flags.Changed("expires-in") {
		days, err := parseDays(opts.expiresIn)
		if err != nil {
			return usageErr("--expires-in", err)
		}
		opts.In.ExpiresInDays = &days
	}
	if flags.Changed("expires-at") {
		t, err := time.Parse(time.RFC3339, opts.expiresAt)
		if err != nil {
			return usageErr("--expires-at", errors.New("give an RFC 3339 time such as 2027-01-31T00:00:00Z"))
		}
		opts.In.ExpiresAt = rfc3339(t)
	}
	if opts.neverExpires {
		opts.In.NeverExpires = &opts.neverExpires
	}
	if flags.Changed("rate-limit") {
		rl, err := parseRateLimit(opts.rateLimit)
		if err != nil {
			return usageErr("--rate-limit", err)
		}
		opts.In.RateLimit = rl
	}
	if flags.Changed("metadata") {
		md, err := parseMetadata(opts.metadata)
		if err != nil {
			return usageErr("--metadata", err)
		}
		opts.In.Metadata = md
	}
	return nil
}

func keysCreateRun(opts *KeysCreateOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		out, err := openSecretOut(opts.Stdout, opts.OutFile)
		if err != nil {
			return err
		}
		created, err := li.manager.CreateKey(opts.Ctx, opts.In)
		if err != nil {
			out.abandon()
			return err
		}
		return writeCreatedKey(opts.Stderr, out, created, opts.Output, "Created")
	})
}

// writeCreatedKey puts the key (or the API's object) out, and what it is on stderr.
func writeCreatedKey(stderr io.Writer, out *secretOut, created client.CreatedKey, output, verb string) error {
	if err := out.writeAs(output, created.Plaintext, created.Raw); err != nil {
		return err
	}
	where := "above"
	if out.path != "" {
		where = "in " + out.path
	}
	fmt.Fprintf(stderr, "%s key %s (%s, %s), expires %s. The key %s is shown this once.\n", verb, printable(created.Name),
		created.Prefix, created.Environment, timeOr(created.ExpiresAt, "never"), where)
	return nil
}
