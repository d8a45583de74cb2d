package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// KeysUpdateOptions is what keyward keys update needs.
type KeysUpdateOptions struct {
	Base
	Ref, Owner string
	Update     client.KeyUpdate
	// the flags read into Update by parse
	texts                                     textFlags
	metadata, expiresAt, expiresIn, rateLimit string
	scopes, allow, roles                      []string
	noScopes, noAllow, enabled                bool
}

// NewCmdKeysUpdate is keyward keys update; runF, when given, runs instead of the command.
func NewCmdKeysUpdate(f *Factory, runF func(*KeysUpdateOptions) error) *cobra.Command {
	opts := &KeysUpdateOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "update KEY [flags]",
		Short: "Change a key: name, description, scopes, metadata, expiry (shorter only), limits, roles (narrower only), enabled",
		Example: "  keyward keys update ci --description 'CI of the data team' --rate-limit 60/1m\n" +
			"  keyward keys update ci --scope profile --scope email     # the new set of scopes\n" +
			"  keyward keys update ci --expires-in 7d --no-ip-allowlist\n" +
			"  keyward keys update ci --role reports-read   # narrow the key's roles",
		Args: cobra.ExactArgs(1),
	}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = opts.runE(opts.parse, pick(opts, runF, keysUpdateRun))
	flags := cmd.Flags()
	flags.StringVar(&opts.Owner, "owner", "", "admins: look the name up among this user's keys")
	opts.texts = bindTextFlags(flags, true)
	flags.StringSliceVar(&opts.scopes, "scope", nil, "the new set of scopes (repeat or comma-separate)")
	flags.BoolVar(&opts.noScopes, "no-scopes", false, "remove every scope")
	flags.StringVar(&opts.metadata, "metadata", "", "a JSON object replacing the metadata, @file, or null to clear it")
	flags.StringVar(&opts.expiresAt, "expires-at", "", "a new, earlier expiry (RFC 3339)")
	flags.StringVar(&opts.expiresIn, "expires-in", "", "expire this long from now (earlier than the current expiry): 30d")
	flags.StringVar(&opts.rateLimit, "rate-limit", "", "exchanges per window: 100/1m, or unlimited")
	flags.StringSliceVar(&opts.allow, "ip-allow", nil, "the new set of allowed CIDRs (repeat or comma-separate)")
	flags.BoolVar(&opts.noAllow, "no-ip-allowlist", false, "accept the key from any address")
	flags.StringSliceVar(&opts.roles, "role", nil, "narrow the key to these roles, a subset of its current ones (repeat or comma-separate)")
	flags.BoolVar(&opts.enabled, "enabled", true, "enable (true) or disable (false) the key")
	cmd.MarkFlagsMutuallyExclusive("expires-at", "expires-in")
	return cmd
}

// parse reads the flags given into Update; none is a usage error.
func (opts *KeysUpdateOptions) parse(cmd *cobra.Command, args []string) error {
	flags := cmd.Flags()
	opts.Ref, opts.Update = args[0], client.KeyUpdate{}
	up := &opts.Update
	opts.texts.into(flags, up)
	var err error
	if up.Scopes, err = replaceOrClear(flags.Changed("scope"), opts.noScopes, opts.scopes, "--scope and --no-scopes"); err != nil {
		return err
	}
	if up.IPAllowlist, err = replaceOrClear(flags.Changed("ip-allow"), opts.noAllow, opts.allow, "--ip-allow and --no-ip-allowlist"); err != nil {
		return err
	}
	if flags.Changed("role") {
		up.Roles = &opts.roles
	}
	if err := opts.parseValues(cmd); err != nil {
		return err
	}
	if flags.Changed("enabled") {
		up.Enabled = &opts.enabled
	}
	if string(mustJSON(*up)) == "{}" {
		return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward keys update -h)")}
	}
	return nil
}

// replaceOrClear is a list flag's new set: the values given, empty (clear), or nil (unchanged).
func replaceOrClear(given, clear bool, values []string, both string) (*[]string, error) {
	switch {
	case clear && given:
		return nil, &exitErr{ExitUsage, errors.New(both + " exclude each other")}
	case clear:
		return &[]string{}, nil
	case given:
		return &values, nil
	}
	return nil, nil
}

// parseValues reads the flags whose values are parsed: metadata, expiry, rate limit.
func (opts *KeysUpdateOptions) parseValues(cmd *cobra.Command) error {
	flags, up := cmd.Flags(), &opts.Update
	if flags.Changed("metadata") {
		md, err := parseMetadata(opts.metadata)
		if err != nil {
			return usageErr("--metadata", err)
		}
		up.Metadata = md
	}
	if flags.Changed("expires-at") {
		t, err := time.Parse(time.RFC3339, opts.expiresAt)
		if err != nil {
			return usageErr("--expires-at", errors.New("give an RFC 3339 time such as 2027-01-31T00:00:00Z"))
		}
		up.ExpiresAt = rfc3339(t)
	}
	if flags.Changed("expires-in") {
		days, err := parseDays(opts.expiresIn)
		if err != nil {
			return usageErr("--expires-in", err)
		}
		t := time.Now().UTC().Truncate(time.Second).AddDate(0, 0, days)
		up.ExpiresAt = rfc3339(t)
	}
	if flags.Changed("rate-limit") {
		rl, err := parseRateLimit(opts.rateLimit)
		if err != nil {
			return usageErr("--rate-limit", err)
		}
		up.RateLimit = rl
	}
	return nil
}

func keysUpdateRun(opts *KeysUpdateOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		return li.changeKey(&opts.Base, opts.Ref, opts.Owner, opts.Update, "Updated")
	})
}

// changeKey applies up to the key ref names and shows the result.
func (li *loggedIn) changeKey(b *Base, ref, owner string, up client.KeyUpdate, verb string) error {
	k, err := li.resolveKey(b.Ctx, ref, owner)
	if err != nil {
		return err
	}
	k, err = li.manager.UpdateKey(b.Ctx, k.ID, up)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.Stderr, "%s key %s (%s): %s.\n", verb, printable(k.Name), k.Prefix, k.Status)
	if b.Output == "json" {
		return writeRaw(b.Stdout, k.Raw)
	}
	if verb == "Updated" {
		return keyDetails(b.Stdout, k)
	}
	return nil
}
