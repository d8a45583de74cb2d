package cli

// keyward keys …: a person's API keys (admins: anyone's, with --owner), named by name
// or id. A created or rotated key goes to stdout alone (or a new 0600 file), so that
// KEY=$(keyward keys create …) works; everything said about it goes to stderr.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// keyFlags names the flag behind each field of the key API, so that a refused field
// is reported as the flag the person typed.
var keyFlags = map[string]string{
	"owner": "--owner", "name": "--name", "description": "--description", "environment": "--environment",
	"expires_in_days": "--expires-in", "expires_at": "--expires-at", "never_expires": "--never-expires",
	"scopes": "--scope", "metadata": "--metadata", "rate_limit": "--rate-limit", "ip_allowlist": "--ip-allow",
	"grace_period_hours": "--grace", "enabled": "--enabled", "days": "--days",
	"status": "--status", "expires": "--expires", "sort": "--sort", "order": "--order", "q": "--search",
}

// asFlags rewrites the field names of a refused request into flag names.
func asFlags(err error, flags map[string]string) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		for i, f := range ae.Fields {
			head := f.Field
			if j := strings.IndexAny(head, ".["); j >= 0 {
				head = head[:j]
			}
			if flag, ok := flags[head]; ok {
				ae.Fields[i].Field = flag + strings.TrimPrefix(f.Field, head)
			}
		}
	}
	return managementFailed(err)
}

func newKeysCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Aliases: []string{"key"},
		Short:   "Manage your API keys: list, create, rotate, revoke, usage …",
		Long:    "Manage API keys. A key is named by its name or its id. Admins reach another user's keys with --owner.",
		Example: "  keyward keys list\n  KEY=$(keyward keys create --name ci --expires-in 90d --scope profile)\n" +
			"  keyward keys rotate ci --grace 24h > ci.key\n  keyward keys usage ci",
	}
	cmd.AddCommand(newKeysListCommand(f), newKeysCreateCommand(f), newKeysShowCommand(f), newKeysUpdateCommand(f),
		newKeysRotateCommand(f), newKeysEnableCommand(f, true), newKeysEnableCommand(f, false),
		newKeysRevokeCommand(f), newKeysUsageCommand(f))
	for _, sub := range cmd.Commands() {
		if strings.Contains(sub.Use, " KEY") {
			sub.ValidArgsFunction = f.completeKeyNames
		}
	}
	return cmd
}

// completeKeyNames offers the names of the keys a command may name (the logged-in
// person's, or --owner's), described by prefix and status. Without a login it offers
// nothing: completion never prompts.
func (f *Factory) completeKeyNames(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	li, err := f.login(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	owner, _ := cmd.Flags().GetString("owner")
	keys, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) (client.Page[client.Key], error) {
		return li.manager.ListKeys(ctx, client.KeyQuery{Owner: li.keyOwner(owner), Q: toComplete, Limit: 200, Cursor: cursor})
	})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, k := range keys {
		if k.RotatedTo == nil && strings.HasPrefix(k.Name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(printable(k.Name), k.Prefix+" "+k.Status))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// keyOwner is whose keys a name is looked up among: --owner, else the person logged in
// (an admin's list would otherwise span every user).
func (li *loggedIn) keyOwner(owner string) string {
	if owner != "" {
		return owner
	}
	return li.tokens.sess.Username
}

// resolveKey finds the key ref names: an id, or the name of one key of the owner that
// has not been superseded by a rotation.
func (li *loggedIn) resolveKey(ctx context.Context, ref, owner string) (client.Key, error) {
	if uuidPattern.MatchString(ref) {
		k, err := li.manager.Key(ctx, ref)
		if !errors.Is(err, client.ErrNotFound) {
			if err != nil {
				return client.Key{}, managementFailed(err)
			}
			return k, nil
		}
	}
	keys, err := allPages(ctx, func(ctx context.Context, cursor string) (client.Page[client.Key], error) {
		return li.manager.ListKeys(ctx, client.KeyQuery{Owner: li.keyOwner(owner), Q: ref, Limit: 200, Cursor: cursor})
	})
	if err != nil {
		return client.Key{}, managementFailed(err)
	}
	var named, current []client.Key
	for _, k := range keys {
		if k.Name == ref {
			named = append(named, k)
			if k.RotatedTo == nil {
				current = append(current, k)
			}
		}
	}
	if len(current) == 0 {
		current = named // only superseded keys of that name: still reachable by name
	}
	switch len(current) {
	case 0:
		return client.Key{}, &exitErr{ExitError, fmt.Errorf("no key named or with id %q", ref)}
	case 1:
		return current[0], nil
	}
	ids := make([]string, len(current))
	for i, k := range current {
		ids[i] = k.ID + " (" + k.Prefix + ")"
	}
	return client.Key{}, &exitErr{ExitUsage, fmt.Errorf("%d keys are named %q: give the id of one: %s", len(current), ref, strings.Join(ids, ", "))}
}

func keysTable(w io.Writer, keys []client.Key, withOwner bool) error {
	t := newTable(w)
	head := []string{"NAME", "PREFIX", "STATUS", "ENVIRONMENT", "LAST USED", "EXPIRES", "ID"}
	if withOwner {
		head = append(head, "OWNER")
	}
	t.row(head...)
	for _, k := range keys {
		status := k.Status
		if k.RotatedTo != nil {
			status += " (rotated, ends " + ago(k.GraceUntil, "?") + ")"
		}
		row := []string{k.Name, k.Prefix, status, k.Environment, ago(k.LastUsedAt, "never"), ago(k.ExpiresAt, "never"), k.ID}
		if withOwner {
			row = append(row, k.OwnerUsername)
		}
		t.row(row...)
	}
	return t.flush()
}

func keyDetails(w io.Writer, k client.Key) error {
	t := newTable(w)
	t.row("name", k.Name)
	t.row("id", k.ID)
	t.row("prefix", k.Prefix)
	t.row("status", k.Status)
	t.row("environment", k.Environment)
	t.row("owner", k.OwnerUsername+" ("+k.Owner+")")
	if k.Description != "" {
		t.row("description", k.Description)
	}
	t.row("scopes", strings.Join(k.Scopes, " "))
	t.row("created", k.CreatedAt.UTC().Format(time.RFC3339))
	t.row("expires", timeOr(k.ExpiresAt, "never"))
	t.row("last used", timeOr(k.LastUsedAt, "never"))
	if k.LastUsedIP != nil {
		t.row("last used from", *k.LastUsedIP)
	}
	t.row("rate limit", rateLimitText(k.RateLimit))
	if len(k.IPAllowlist) > 0 {
		t.row("ip allowlist", strings.Join(k.IPAllowlist, " "))
	}
	if string(k.Metadata) != "" && string(k.Metadata) != "{}" {
		t.row("metadata", string(k.Metadata))
	}
	if k.RotatedTo != nil {
		t.row("rotated to", *k.RotatedTo)
		t.row("grace until", timeOr(k.GraceUntil, "?"))
	}
	if a := k.AdminSet; a != nil {
		for what, who := range map[string]string{"disabled": a.Disabled, "rate limit": a.RateLimit, "ip allowlist": a.IPAllowlist} {
			if who != "" {
				t.row("set by admin", what+": "+who)
			}
		}
	}
	return t.flush()
}

func rateLimitText(r client.RateLimit) string {
	if r.Unlimited || r.Requests == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d per %s", r.Requests, shortDuration(time.Duration(r.WindowSeconds)*time.Second))
}

// parseDays reads an expiry such as 90d, 12w, 1y or 30 (days).
func parseDays(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "d"):
		s = strings.TrimSuffix(s, "d")
	case strings.HasSuffix(s, "w"):
		s, mult = strings.TrimSuffix(s, "w"), 7
	case strings.HasSuffix(s, "y"):
		s, mult = strings.TrimSuffix(s, "y"), 365
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, errors.New("give days as 90d, weeks as 12w or years as 1y")
	}
	return n * mult, nil
}

// parseHours reads a duration in whole hours: 24h, 7d, 0.
func parseHours(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "0" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return 0, errors.New("give a duration such as 24h or 7d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d%time.Hour != 0 {
		return 0, errors.New("give whole hours such as 24h, or days such as 7d")
	}
	return d, nil
}

// parseRateLimit reads 100/1m, 1000/1h, 10/30s or unlimited.
func parseRateLimit(s string) (*client.RateLimit, error) {
	if strings.EqualFold(strings.TrimSpace(s), "unlimited") {
		return &client.RateLimit{Unlimited: true}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || requests <= 0 {
		return nil, errors.New("give requests per window, such as 100/1m or 1000/1h, or unlimited")
	}
	window, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || window < time.Second || window%time.Second != 0 {
		return nil, errors.New("give requests per window, such as 100/1m or 1000/1h, or unlimited")
	}
	return &client.RateLimit{Requests: requests, WindowSeconds: int(window / time.Second)}, nil
}

// parseMetadata reads a JSON object, or @file holding one; "null" clears (update).
func parseMetadata(s string) (json.RawMessage, error) {
	b := []byte(s)
	if strings.HasPrefix(s, "@") {
		var err error
		if b, err = os.ReadFile(s[1:]); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, errors.New("give a JSON object, such as '{\"team\":\"data\"}', or @file")
	}
	return json.RawMessage(b), nil
}

func usageErr(flag string, err error) error {
	return &exitErr{ExitUsage, fmt.Errorf("%s: %w", flag, err)}
}

func newKeysListCommand(f *Factory) *cobra.Command {
	var q client.KeyQuery
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List keys: name, prefix, status, environment, last used, expires",
		Example: "  keyward keys list\n  keyward keys list --status active --environment production -o json\n" +
			"  keyward keys list --owner alice        # admins",
		Args: cobra.NoArgs,
	}
	output := outputFlag(cmd, "table", "table or json (the API's key objects, as one array)")
	cmd.RunE = f.loggedInCmd(keyFlags, nil, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		keys, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) (client.Page[client.Key], error) {
			qq := q
			qq.Limit, qq.Cursor = 200, cursor
			return li.manager.ListKeys(ctx, qq)
		})
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeRawList(cmd.OutOrStdout(), rawsOf(keys, func(k client.Key) json.RawMessage { return k.Raw }))
		}
		others := q.Owner != "" // an admin's list without --owner spans every user
		for _, k := range keys {
			others = others || k.OwnerUsername != li.tokens.sess.Username
		}
		return keysTable(cmd.OutOrStdout(), keys, others)
	})
	flags := cmd.Flags()
	flags.StringVar(&q.Owner, "owner", "", "admins: the user (username or id) whose keys to list")
	flags.StringVarP(&q.Q, "search", "q", "", "search in names and descriptions")
	flags.StringVar(&q.Status, "status", "", "active, inactive, expired or expiring_soon")
	flags.StringVar(&q.Environment, "environment", "", "development, staging or production")
	flags.StringVar(&q.Expires, "expires", "", "30d, expired or never")
	flags.StringVar(&q.Sort, "sort", "", "created_at (default), expires_at, name or last_used_at")
	flags.StringVar(&q.Order, "order", "", "desc (default) or asc")
	return cmd
}

func newKeysCreateCommand(f *Factory) *cobra.Command {
	var in client.KeyCreate
	var expiresIn, expiresAt, rateLimit, metadata, outFile string
	var neverExpires bool
	cmd := &cobra.Command{
		Use:   "create --name NAME [flags]",
		Short: "Create a key: the key alone on stdout (shown this once)",
		Long: "Create an API key. The key is printed alone on stdout (or written to --out-file, created 0600),\n" +
			"this once: Keyward keeps only its hash. What is said about it goes to stderr.",
		Example: "  KEY=$(keyward keys create --name ci --expires-in 90d --scope profile)\n" +
			"  keyward keys create --name nightly --environment staging --rate-limit 100/1m --ip-allow 203.0.113.0/24 --out-file nightly.key\n" +
			"  keyward keys create --name report --owner alice --never-expires   # admins, for a user",
		Args: cobra.NoArgs,
	}
	output := outputFlag(cmd, "key", "key (the key alone) or json (the API's object, with the key)")
	cmd.RunE = f.loggedInCmd(keyFlags, func(cmd *cobra.Command, _ []string) error {
		flags := cmd.Flags()
		if flags.Changed("expires-in") {
			days, err := parseDays(expiresIn)
			if err != nil {
				return usageErr("--expires-in", err)
			}
			in.ExpiresInDays = &days
		}
		if flags.Changed("expires-at") {
			t, err := time.Parse(time.RFC3339, expiresAt)
			if err != nil {
				return usageErr("--expires-at", errors.New("give an RFC 3339 time such as 2027-01-31T00:00:00Z"))
			}
			in.ExpiresAt = rfc3339(t)
		}
		if neverExpires {
			in.NeverExpires = &neverExpires
		}
		if flags.Changed("rate-limit") {
			rl, err := parseRateLimit(rateLimit)
			if err != nil {
				return usageErr("--rate-limit", err)
			}
			in.RateLimit = rl
		}
		if flags.Changed("metadata") {
			md, err := parseMetadata(metadata)
			if err != nil {
				return usageErr("--metadata", err)
			}
			in.Metadata = md
		}
		return nil
	}, func(cmd *cobra.Command, _ []string, li *loggedIn) error {
		out, err := openSecretOut(cmd.OutOrStdout(), outFile)
		if err != nil {
			return err
		}
		created, err := li.manager.CreateKey(cmd.Context(), in)
		if err != nil {
			out.abandon()
			return err
		}
		return writeCreatedKey(cmd.ErrOrStderr(), out, created, *output, "Created")
	})
	flags := cmd.Flags()
	flags.StringVar(&in.Name, "name", "", "the key's name, 1..100 characters (required)")
	flags.StringVar(&in.Description, "description", "", "what the key is for")
	flags.StringVar(&in.Environment, "environment", "", "development, staging or production (default production)")
	flags.StringVar(&expiresIn, "expires-in", "", "expire after this long: 90d, 12w, 1y (default 365d)")
	flags.StringVar(&expiresAt, "expires-at", "", "expire at this RFC 3339 time")
	flags.BoolVar(&neverExpires, "never-expires", false, "the key never expires")
	flags.StringSliceVar(&in.Scopes, "scope", nil, "a Keycloak client scope the key may request (repeat or comma-separate)")
	flags.StringVar(&metadata, "metadata", "", "a JSON object kept with the key, or @file")
	flags.StringVar(&rateLimit, "rate-limit", "", "exchanges allowed per window: 100/1m, 1000/1h, or unlimited")
	flags.StringSliceVar(&in.IPAllowlist, "ip-allow", nil, "a CIDR the key is accepted from (repeat or comma-separate)")
	flags.StringVar(&in.Owner, "owner", "", "admins: create the key for this user (username or id)")
	flags.StringVar(&outFile, "out-file", "", "write the key to this new file (0600) instead of stdout; never overwrites")
	_ = cmd.MarkFlagRequired("name")
	cmd.MarkFlagsMutuallyExclusive("expires-in", "expires-at", "never-expires")
	return cmd
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

func newKeysShowCommand(f *Factory) *cobra.Command {
	var owner string
	cmd := &cobra.Command{
		Use:     "show KEY",
		Short:   "Show a key (never its secret)",
		Example: "  keyward keys show ci\n  keyward keys show 3f0c…-uuid -o json",
		Args:    cobra.ExactArgs(1),
	}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(keyFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		k, err := li.resolveKey(cmd.Context(), args[0], owner)
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeRaw(cmd.OutOrStdout(), k.Raw)
		}
		return keyDetails(cmd.OutOrStdout(), k)
	})
	cmd.Flags().StringVar(&owner, "owner", "", "admins: look the name up among this user's keys")
	return cmd
}

func newKeysUpdateCommand(f *Factory) *cobra.Command {
	var owner, name, description, metadata, expiresAt, expiresIn, rateLimit string
	var scopes, allow []string
	var noScopes, noAllow, enabled bool
	var up client.KeyUpdate
	cmd := &cobra.Command{
		Use:   "update KEY [flags]",
		Short: "Change a key: name, description, scopes, metadata, expiry (shorter only), limits, enabled",
		Example: "  keyward keys update ci --description 'CI of the data team' --rate-limit 60/1m\n" +
			"  keyward keys update ci --scope profile --scope email     # the new set of scopes\n" +
			"  keyward keys update ci --expires-in 7d --no-ip-allowlist",
		Args: cobra.ExactArgs(1),
	}
	output := outputFlag(cmd, "table", "table or json (the API's object)")
	cmd.RunE = f.loggedInCmd(keyFlags, func(cmd *cobra.Command, _ []string) error {
		flags := cmd.Flags()
		up = client.KeyUpdate{}
		if flags.Changed("name") {
			up.Name = &name
		}
		if flags.Changed("description") {
			up.Description = &description
		}
		switch {
		case noScopes && flags.Changed("scope"):
			return &exitErr{ExitUsage, errors.New("--scope and --no-scopes exclude each other")}
		case noScopes:
			up.Scopes = &[]string{}
		case flags.Changed("scope"):
			up.Scopes = &scopes
		}
		switch {
		case noAllow && flags.Changed("ip-allow"):
			return &exitErr{ExitUsage, errors.New("--ip-allow and --no-ip-allowlist exclude each other")}
		case noAllow:
			up.IPAllowlist = &[]string{}
		case flags.Changed("ip-allow"):
			up.IPAllowlist = &allow
		}
		if flags.Changed("metadata") {
			md, err := parseMetadata(metadata)
			if err != nil {
				return usageErr("--metadata", err)
			}
			up.Metadata = md
		}
		if flags.Changed("expires-at") {
			t, err := time.Parse(time.RFC3339, expiresAt)
			if err != nil {
				return usageErr("--expires-at", errors.New("give an RFC 3339 time such as 2027-01-31T00:00:00Z"))
			}
			up.ExpiresAt = rfc3339(t)
		}
		if flags.Changed("expires-in") {
			days, err := parseDays(expiresIn)
			if err != nil {
				return usageErr("--expires-in", err)
			}
			t := time.Now().UTC().Truncate(time.Second).AddDate(0, 0, days)
			up.ExpiresAt = rfc3339(t)
		}
		if flags.Changed("rate-limit") {
			rl, err := parseRateLimit(rateLimit)
			if err != nil {
				return usageErr("--rate-limit", err)
			}
			up.RateLimit = rl
		}
		if flags.Changed("enabled") {
			up.Enabled = &enabled
		}
		if string(mustJSON(up)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward keys update -h)")}
		}
		return nil
	}, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		return li.changeKey(cmd, args[0], owner, *output, up, "Updated")
	})
	flags := cmd.Flags()
	flags.StringVar(&owner, "owner", "", "admins: look the name up among this user's keys")
	flags.StringVar(&name, "name", "", "a new name")
	flags.StringVar(&description, "description", "", "a new description")
	flags.StringSliceVar(&scopes, "scope", nil, "the new set of scopes (repeat or comma-separate)")
	flags.BoolVar(&noScopes, "no-scopes", false, "remove every scope")
	flags.StringVar(&metadata, "metadata", "", "a JSON object replacing the metadata, @file, or null to clear it")
	flags.StringVar(&expiresAt, "expires-at", "", "a new, earlier expiry (RFC 3339)")
	flags.StringVar(&expiresIn, "expires-in", "", "expire this long from now (earlier than the current expiry): 30d")
	flags.StringVar(&rateLimit, "rate-limit", "", "exchanges per window: 100/1m, or unlimited")
	flags.StringSliceVar(&allow, "ip-allow", nil, "the new set of allowed CIDRs (repeat or comma-separate)")
	flags.BoolVar(&noAllow, "no-ip-allowlist", false, "accept the key from any address")
	flags.BoolVar(&enabled, "enabled", true, "enable (true) or disable (false) the key")
	cmd.MarkFlagsMutuallyExclusive("expires-at", "expires-in")
	return cmd
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// changeKey applies up to the key ref names and shows the result.
func (li *loggedIn) changeKey(cmd *cobra.Command, ref, owner, output string, up client.KeyUpdate, verb string) error {
	k, err := li.resolveKey(cmd.Context(), ref, owner)
	if err != nil {
		return err
	}
	k, err = li.manager.UpdateKey(cmd.Context(), k.ID, up)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s key %s (%s): %s.\n", verb, printable(k.Name), k.Prefix, k.Status)
	if output == "json" {
		return writeRaw(cmd.OutOrStdout(), k.Raw)
	}
	if verb == "Updated" {
		return keyDetails(cmd.OutOrStdout(), k)
	}
	return nil
}

func newKeysEnableCommand(f *Factory, enable bool) *cobra.Command {
	var owner string
	use, short, verb := "enable KEY", "Enable a key: the exchange accepts it again", "Enabled"
	if !enable {
		use, short, verb = "disable KEY", "Disable a key: the exchange refuses it until it is enabled", "Disabled"
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: "  keyward keys " + strings.Fields(use)[0] + " ci",
		Args:    cobra.ExactArgs(1),
	}
	output := outputFlag(cmd, "table", "table (a line on stderr) or json (the API's object)")
	cmd.RunE = f.loggedInCmd(keyFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		return li.changeKey(cmd, args[0], owner, *output, client.KeyUpdate{Enabled: &enable}, verb)
	})
	cmd.Flags().StringVar(&owner, "owner", "", "admins: look the name up among this user's keys")
	return cmd
}

func newKeysRotateCommand(f *Factory) *cobra.Command {
	var owner, grace, outFile string
	var g *time.Duration
	cmd := &cobra.Command{
		Use:   "rotate KEY [--grace 24h]",
		Short: "Rotate a key: the new key alone on stdout; the old one works until the grace ends (stderr)",
		Long: "Issue a key's successor with the same settings. The new key is printed alone on stdout (or to\n" +
			"--out-file), this once; the old key keeps working until the grace period ends (default 7 days),\n" +
			"which is printed on stderr.",
		Example: "  keyward keys rotate ci --grace 24h > ci.key\n  keyward keys rotate ci --grace 0 --out-file ci-new.key   # the old key stops now",
		Args:    cobra.ExactArgs(1),
	}
	output := outputFlag(cmd, "key", "key (the new key alone) or json (the API's object)")
	cmd.RunE = f.loggedInCmd(keyFlags, func(cmd *cobra.Command, _ []string) error {
		g = nil
		if cmd.Flags().Changed("grace") {
			d, err := parseHours(grace)
			if err != nil {
				return usageErr("--grace", err)
			}
			g = &d
		}
		return nil
	}, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		old, err := li.resolveKey(cmd.Context(), args[0], owner)
		if err != nil {
			return err
		}
		out, err := openSecretOut(cmd.OutOrStdout(), outFile)
		if err != nil {
			return err
		}
		created, err := li.manager.RotateKey(cmd.Context(), old.ID, g)
		if err != nil {
			out.abandon()
			return err
		}
		if err := writeCreatedKey(cmd.ErrOrStderr(), out, created, *output, "Rotated"); err != nil {
			return err
		}
		if prev, err := li.manager.Key(cmd.Context(), old.ID); err == nil && prev.GraceUntil != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "The old key %s works until %s (grace ends).\n", prev.Prefix, prev.GraceUntil.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "The old key %s no longer works.\n", old.Prefix)
		}
		return nil
	})
	cmd.Flags().StringVar(&owner, "owner", "", "admins: look the name up among this user's keys")
	cmd.Flags().StringVar(&grace, "grace", "", "how long the old key keeps working: 24h, 7d (default), 0")
	cmd.Flags().StringVar(&outFile, "out-file", "", "write the new key to this new file (0600) instead of stdout")
	return cmd
}

func newKeysRevokeCommand(f *Factory) *cobra.Command {
	var owner string
	cmd := &cobra.Command{
		Use:     "revoke KEY",
		Aliases: []string{"delete"},
		Short:   "Revoke a key: the exchange refuses it from now on",
		Example: "  keyward keys revoke ci",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = f.loggedInCmd(keyFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		k, err := li.resolveKey(cmd.Context(), args[0], owner)
		if err != nil {
			return err
		}
		if err := li.manager.RevokeKey(cmd.Context(), k.ID); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Revoked key %s (%s).\n", printable(k.Name), k.Prefix)
		return nil
	})
	cmd.Flags().StringVar(&owner, "owner", "", "admins: look the name up among this user's keys")
	return cmd
}

func newKeysUsageCommand(f *Factory) *cobra.Command {
	var owner string
	var days int
	cmd := &cobra.Command{
		Use:     "usage KEY",
		Short:   "Show a key's exchanges per day, with a bar chart",
		Example: "  keyward keys usage ci\n  keyward keys usage ci --days 7 -o json",
		Args:    cobra.ExactArgs(1),
	}
	output := outputFlag(cmd, "table", "table (with a bar chart) or json (the API's object)")
	cmd.RunE = f.loggedInCmd(keyFlags, nil, func(cmd *cobra.Command, args []string, li *loggedIn) error {
		k, err := li.resolveKey(cmd.Context(), args[0], owner)
		if err != nil {
			return err
		}
		u, err := li.manager.KeyUsage(cmd.Context(), k.ID, days)
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeRaw(cmd.OutOrStdout(), u.Raw)
		}
		return usageChart(cmd.OutOrStdout(), k, u)
	})
	cmd.Flags().StringVar(&owner, "owner", "", "admins: look the name up among this user's keys")
	cmd.Flags().IntVar(&days, "days", 30, "how many days back, 1..90")
	return cmd
}

const barWidth = 40

// bar draws n of max as a bar of at most barWidth cells, in eighths of a cell.
func bar(n, max int64) string {
	if n <= 0 || max <= 0 {
		return ""
	}
	eighths := int(n * barWidth * 8 / max)
	if eighths == 0 {
		eighths = 1 // any use shows
	}
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}

func usageChart(w io.Writer, k client.Key, u client.KeyUsage) error {
	var max int64
	for _, d := range u.Days {
		if d.Success > max {
			max = d.Success
		}
	}
	fmt.Fprintf(w, "%s (%s): %d exchanges, %d denied over %d days; this month %d, %d denied; last used %s\n",
		printable(k.Name), k.Prefix, u.Period.Success, u.Period.DeniedTotal(), len(u.Days), u.Month.Success, u.Month.DeniedTotal(),
		timeOr(u.LastUsedAt, "never"))
	if len(u.Period.ByVia) > 0 { // older servers do not split by route
		parts := make([]string, 0, 2)
		for _, via := range []string{client.ViaToken, client.ViaForwardAuth} {
			r := u.Period.ByVia[via]
			parts = append(parts, fmt.Sprintf("%s %d, %d denied", via, r.Success, r.DeniedTotal()))
		}
		fmt.Fprintf(w, "by route over %d days: %s\n", len(u.Days), strings.Join(parts, "; "))
	}
	t := newTable(w)
	t.row("DAY", "OK", "", "DENIED")
	for _, d := range u.Days {
		denied := ""
		if n := d.DeniedTotal(); n > 0 {
			reasons := make([]string, 0, len(d.Denied))
			for r, c := range d.Denied {
				if c > 0 {
					reasons = append(reasons, fmt.Sprintf("%s %d", r, c))
				}
			}
			sort.Strings(reasons)
			denied = fmt.Sprintf("%d (%s)", n, strings.Join(reasons, ", "))
		}
		t.row(d.Date, strconv.FormatInt(d.Success, 10), bar(d.Success, max), denied)
	}
	return t.flush()
}

// rfc3339 is t as the API takes a time (api.KeyCreate.ExpiresAt, api.KeyUpdate.ExpiresAt).
func rfc3339(t time.Time) *string {
	s := t.Format(time.RFC3339Nano)
	return &s
}
