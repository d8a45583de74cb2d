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
	"github.com/spf13/pflag"

	"github.com/keyward/keyward/client"
)

// keyFlags names the flag behind each field of the key API, so that a refused field
// is reported as the flag the person typed.
var keyFlags = func() map[string]string {
	flags := map[string]string{
		"expires_in_days": "--expires-in", "expires_at": "--expires-at", "never_expires": "--never-expires",
		"scopes": "--scope", "metadata": "--metadata", "rate_limit": "--rate-limit", "ip_allowlist": "--ip-allow",
		"grace_period_hours": "--grace", "enabled": "--enabled", "days": "--days",
		"status": "--status", "expires": "--expires", "sort": "--sort", "order": "--order", "q": "--search",
	}
	for _, f := range keyTextFlags {
		flags[f.field] = "--" + f.flag
	}
	return flags
}()

// keyTextFlag is a text field of the key requests and its flag, with its help on
// keys create and on keys update ("": not on that command).
type keyTextFlag struct{ field, flag, onCreate, onUpdate string }

// keyTextFlags are the requests' text fields taken as they are typed: a text field
// added to api.KeyCreate or api.KeyUpdate takes a line here, and both commands have it.
var keyTextFlags = []keyTextFlag{
	{"name", "name", "the key's name, 1..100 characters (required)", "a new name"},
	{"description", "description", "what the key is for", "a new description"},
	{"environment", "environment", "development, staging or production (default production)", ""},
	{"owner", "owner", "admins: create the key for this user (username or id)", ""},
}

// textFlags are the values of one command's text flags, by flag name.
type textFlags map[string]*string

// bindTextFlags adds the text flags of keys create, or of keys update.
func bindTextFlags(flags *pflag.FlagSet, update bool) textFlags {
	out := textFlags{}
	for _, f := range keyTextFlags {
		if usage := map[bool]string{false: f.onCreate, true: f.onUpdate}[update]; usage != "" {
			out[f.flag] = flags.String(f.flag, "", usage)
		}
	}
	return out
}

// into sets in *request (api.KeyCreate or api.KeyUpdate) the fields of the text flags
// given: by their JSON names, so that an update's fields not given stay nil.
func (t textFlags) into(flags *pflag.FlagSet, request any) {
	given := map[string]string{}
	for _, f := range keyTextFlags {
		if v, ok := t[f.flag]; ok && flags.Changed(f.flag) {
			given[f.field] = *v
		}
	}
	_ = json.Unmarshal(mustJSON(given), request) // strings into string fields: cannot fail
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
	cmd.AddCommand(NewCmdKeysList(f, nil), NewCmdKeysCreate(f, nil), NewCmdKeysShow(f, nil), NewCmdKeysUpdate(f, nil),
		NewCmdKeysRotate(f, nil), NewCmdKeysEnable(f, true, nil), NewCmdKeysEnable(f, false, nil),
		NewCmdKeysRevoke(f, nil), NewCmdKeysUsage(f, nil))
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
	return li.username
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
			row = append(row, ownerText(k))
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
	t.row("owner", ownerText(k)+" ("+k.Owner+")")
	t.row("owner type", k.OwnerType)
	if k.Consumer != nil {
		t.row("consumer", k.Consumer.Name+" ("+k.Consumer.ID+")")
	}
	if k.Description != "" {
		t.row("description", k.Description)
	}
	t.row("scopes", strings.Join(k.Scopes, " "))
	t.row("roles", rolesText(k.Roles))
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

// rolesText: a limited key's roles, or what an unrestricted key carries.
func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "all of the owner's"
	}
	return strings.Join(roles, " ")
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

// ownerText is whose the key is: a username, or "consumer <name>".
func ownerText(k client.Key) string {
	if k.Consumer != nil {
		return "consumer " + k.Consumer.Name
	}
	return k.OwnerUsername
}
