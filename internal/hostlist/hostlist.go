// Package hostlist is the format of KEYWARD_CLIENT_REDIRECT_HOSTS: the hosts the
// operator lets provisioned clients send users' authorization codes to. Config checks
// the list with it, provisioning matches redirect URIs against it.
package hostlist

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// List is a checked list of allowed hosts; the zero List allows none.
type List struct{ entries []entry }

type entry struct {
	host     string // lower case; for a wildcard the suffix with its leading dot
	port     string // "" for any port
	wildcard bool
}

// hostName is a DNS name: labels of letters, digits and inner hyphens.
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Parse checks entries: "host" (exact, any port), "*.example.com" (any subdomain of
// example.com at any depth, not example.com itself), or "host:port" for a loopback host
// (127.0.0.1:8080, [::1]:8080, localhost:8080), which matches that port only. The
// problem is "" when every entry is good.
func Parse(entries []string) (List, string) {
	var l List
	for _, raw := range entries {
		s := strings.ToLower(strings.TrimSpace(raw))
		if s == "" {
			continue
		}
		e, problem := parseEntry(s)
		if problem != "" {
			return List{}, fmt.Sprintf("entry %q %s", truncate(raw, 80), problem)
		}
		l.entries = append(l.entries, e)
	}
	return l, ""
}

func parseEntry(s string) (entry, string) {
	const rule = "must be a host name, *.domain for its subdomains, or host:port for a loopback host"
	if strings.ContainsAny(s, "/@?#") {
		return entry{}, rule + " (no scheme or path)"
	}
	if strings.HasPrefix(s, "*.") {
		domain := s[2:]
		if !hostName.MatchString(domain) || !strings.Contains(domain, ".") {
			return entry{}, "must name a domain of at least two labels after *. (e.g. *.example.com)"
		}
		return entry{host: "." + domain, wildcard: true}, ""
	}
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return entry{}, "has no valid port"
		}
		if !loopback(h) {
			return entry{}, "names a port: only loopback hosts (127.0.0.1, [::1], localhost) take one"
		}
		return entry{host: h, port: port}, ""
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if net.ParseIP(s) != nil || hostName.MatchString(s) {
		return entry{host: s}, ""
	}
	return entry{}, rule
}

// Empty says whether the list allows no host at all.
func (l List) Empty() bool { return len(l.entries) == 0 }

// Allows says whether a URL of this host and port ("" when the URL gives none) may
// receive codes. host is a URL's Hostname() (IPv6 without brackets).
func (l List) Allows(host, port string) bool {
	host = strings.ToLower(host)
	for _, e := range l.entries {
		switch {
		case e.wildcard:
			if strings.HasSuffix(host, e.host) && len(host) > len(e.host) {
				return true
			}
		case host == e.host && (e.port == "" || e.port == port):
			return true
		}
	}
	return false
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
