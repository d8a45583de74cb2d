package provisioning

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/hostlist"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/models"
)

// DefaultEnvironment is a new consumer's environment when none is given. The bounds,
// names and enums of provisioning input are package api's, the wire contract.
const DefaultEnvironment = "production"

var (
	// consumerName is the rule: 1..64 of [a-z0-9._-].
	consumerName    = regexp.MustCompile(api.ConsumerNamePattern)
	aclGroupName    = regexp.MustCompile(api.ACLGroupNamePattern)
	clientIDPattern = regexp.MustCompile(api.ClientIDPattern)
)

// fields collects field problems; err is nil when there are none.
type fields struct{ list []errs.FieldError }

func (f *fields) add(field, format string, a ...any) {
	f.list = append(f.list, errs.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
}

func (f *fields) err() error {
	if len(f.list) == 0 {
		return nil
	}
	return &errs.Validation{Fields: f.list}
}

// pattern checks a name of a fixed alphabet. Text that safetext refuses gets its
// words (which character, where), the rest the rule.
func (f *fields) pattern(field, v string, re *regexp.Regexp, rule string) {
	switch {
	case v == "":
		f.add(field, "is required")
	case safetext.Problem(v, false) != "":
		f.add(field, "%s", safetext.Problem(v, false))
	case !re.MatchString(v):
		f.add(field, "must be %s", rule)
	}
}

// name checks a free-text name (of a client): one line of at most max characters that
// renders as what it stores (internal/safetext), not only blanks.
func (f *fields) name(field, v string, max int) {
	f.safeText(field, v, max, false)
	if v != "" && strings.TrimSpace(v) == "" {
		f.add(field, "must not be blank")
	}
}

// description checks free text that may span lines (tab, CR, LF allowed).
func (f *fields) description(field, v string, max int) {
	f.safeText(field, v, max, true)
}

func (f *fields) safeText(field, v string, max int, multiline bool) {
	if msg := safetext.Problem(v, multiline); msg != "" {
		f.add(field, "%s", msg)
		return
	}
	if utf8.RuneCountInString(v) > max {
		f.add(field, "must be at most %d characters", max)
	}
}

func (f *fields) environment(field, v string) {
	for _, e := range api.Environments {
		if v == e {
			return
		}
	}
	f.add(field, "must be one of %s", strings.Join(api.Environments, ", "))
}

// IsACLGroupName tells whether name follows api.ACLGroupNamePattern.
func IsACLGroupName(name string) bool { return aclGroupName.MatchString(name) }

// groupNames checks a list of ACL group names: each well-formed, none twice.
func (f *fields) groupNames(field string, names []string) {
	if len(names) > api.ACLGroupsMax {
		f.add(field, "must hold at most %d groups", api.ACLGroupsMax)
		return
	}
	seen := map[string]bool{}
	for i, n := range names {
		item := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case safetext.Problem(n, false) != "":
			f.add(item, "%s", safetext.Problem(n, false))
		case !aclGroupName.MatchString(n):
			f.add(item, "must be "+api.ACLGroupRule)
		case seen[n]:
			f.add(item, "names %q a second time", n)
		}
		seen[n] = true
	}
}

// RedirectHostsSetting is the operator's setting that lists the hosts redirect URIs
// may name.
const RedirectHostsSetting = "KEYWARD_CLIENT_REDIRECT_HOSTS"

// redirectURIs allows https anywhere and plain http on the loopback interface only
// (RFC 8252 §7.3); no wildcards, fragments or user info; and only hosts the operator
// allowed. A redirect URI decides where users' authorization codes go, and a
// keyward-admin is not a realm admin: the realm's operator chooses the hosts that may
// receive them (KEYWARD_CLIENT_REDIRECT_HOSTS), and with none chosen no client gets
// redirect URIs.
func (f *fields) redirectURIs(field string, uris []string, hosts hostlist.List) {
	if len(uris) > api.RedirectURIsMax {
		f.add(field, "must hold at most %d URIs", api.RedirectURIsMax)
		return
	}
	if len(uris) > 0 && hosts.Empty() {
		f.add(field, "are not allowed here: the operator has allowed no redirect host (%s is empty); "+
			"a redirect URI decides where users' authorization codes go", RedirectHostsSetting)
		return
	}
	seen := map[string]bool{}
	for i, raw := range uris {
		item := fmt.Sprintf("%s[%d]", field, i)
		if msg := redirectProblem(raw); msg != "" {
			f.add(item, "%s", msg)
		} else if u, _ := url.Parse(raw); !hosts.Allows(u.Hostname(), u.Port()) {
			f.add(item, "names the host %q, which %s does not allow", u.Host, RedirectHostsSetting)
		} else if seen[raw] {
			f.add(item, "is listed twice")
		}
		seen[raw] = true
	}
}

func redirectProblem(raw string) string {
	if msg := safetext.Problem(raw, false); msg != "" {
		return msg
	}
	if raw == "" || len(raw) > api.RedirectURIMax || strings.ContainsAny(raw, " \\") {
		return fmt.Sprintf("must be an absolute URL of at most %d characters", api.RedirectURIMax)
	}
	if strings.Contains(raw, "*") {
		return "must not contain wildcards"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL"
	}
	switch {
	case u.User != nil:
		return "must not contain user info"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return ""
	}
	return "must use https (plain http only on 127.0.0.1, [::1] or localhost)"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Sort orders of lists: a field, descending when prefixed with '-'.
func parseSort(f *fields, v, def string, allowed ...string) (field string, desc bool) {
	if v == "" {
		v = def
	}
	field, desc = strings.TrimPrefix(v, "-"), strings.HasPrefix(v, "-")
	for _, a := range allowed {
		if field == a {
			return field, desc
		}
	}
	choices := make([]string, 0, 2*len(allowed))
	for _, a := range allowed {
		choices = append(choices, a, "-"+a)
	}
	f.add("sort", "must be one of %s", strings.Join(choices, ", "))
	return "", false
}

func (f *fields) limit(n int) int {
	size, ok := page.Limit(n)
	if !ok {
		f.add("limit", "%s", page.LimitRule)
	}
	return size
}

func (f *fields) query(v string) {
	f.safeText("q", v, api.AdminQueryMax, false)
}

// after gives the position of raw, a cursor of scope ("" for the first page).
func (f *fields) after(scope page.Scope, raw string) *models.ListPosition {
	p, ok := scope.Position(raw)
	if !ok {
		f.add("cursor", "%s", page.CursorRule)
	}
	if p == nil {
		return nil
	}
	return &models.ListPosition{Text: p.Text, At: p.At, ID: p.ID}
}
