package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/cidrlist"
)

// MaxAllowedNetworks bounds KEYWARD_WEBHOOK_ALLOWED_NETWORKS.
const MaxAllowedNetworks = 100

// Guard keeps deliveries off the addresses of the machine and its networks (SSRF):
// loopback, link-local (the cloud metadata service at 169.254.169.254), private,
// shared (CGNAT), unspecified, multicast, reserved and documentation ranges, in IPv4,
// IPv6 and IPv4-mapped form, unless the address is in a network an admin allowed. It
// checks each address the dialer is about to connect to, after name resolution, so a
// name that resolves (or rebinds) to a refused address is refused too.
type Guard struct {
	allowed string // cidrlist form; "" allows nothing extra
}

// NewGuard returns a guard that also lets through the given CIDRs or addresses.
func NewGuard(allowed []string) (*Guard, error) {
	list, problem := cidrlist.Normalize(allowed, MaxAllowedNetworks)
	if problem != "" {
		return nil, errors.New("webhooks: allowed networks: " + problem)
	}
	return &Guard{allowed: list}, nil
}

// RefusedError says why an address is not delivered to.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is %s: webhooks are not delivered there unless KEYWARD_WEBHOOK_ALLOWED_NETWORKS allows it", e.Addr, e.Reason)
}

// special are ranges refused beyond what netip classifies: shared, reserved,
// documentation, benchmarking, and IPv6 forms that carry an IPv4 address.
var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in \"this network\" (0.0.0.0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// Check says whether ip may be delivered to: nil, or a *RefusedError.
func (g *Guard) Check(ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	if !ip.IsValid() {
		return &RefusedError{Addr: ip, Reason: "not an address"}
	}
	if g.allowed != "" && cidrlist.Allows(g.allowed, ip) {
		return nil
	}
	if reason := refusal(ip); reason != "" {
		return &RefusedError{Addr: ip, Reason: reason}
	}
	return nil
}

// refusal is why ip (unmapped) is refused, or "".
func refusal(ip netip.Addr) string {
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (the cloud metadata service lives at 169.254.169.254)"
	case ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.IsPrivate():
		return "a private address"
	}
	for _, s := range special {
		if s.prefix.Contains(ip) {
			return s.reason
		}
	}
	if !ip.IsGlobalUnicast() {
		return "not a public unicast address"
	}
	return ""
}

// control is the dialer's check of the address it is about to connect to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: "not an address"}
	}
	return g.Check(ap.Addr())
}

// CheckURL is the registration check of an endpoint URL: "" when it is good, else
// what is wrong. An address given literally is checked here; names are checked at
// every delivery, on what they resolve to.
func (g *Guard) CheckURL(raw string) string {
	if utf8.RuneCountInString(raw) > api.WebhookURLMax {
		return fmt.Sprintf("must be at most %d characters", api.WebhookURLMax)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return "must be an absolute http or https URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.User != nil:
		return "must not hold a user name or password: receivers check the signature"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment"
	case u.Hostname() == "":
		return "must name a host"
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil || strings.Trim(p, "0123456789") != "" {
			return "has an invalid port"
		}
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := g.Check(ip); err != nil {
			return err.Error()
		}
	}
	return ""
}

// maxResponseBytes is how much of a receiver's answer is read (and dropped), so that
// the connection can be reused; the rest is not waited for.
const maxResponseBytes = 64 << 10

// Client is the HTTP client of deliveries: every connection passes the guard, no
// proxy (it would connect for us, past the guard), no redirect followed (a receiver
// could point us anywhere), and each request bounded by timeout.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: g.control}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          50,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
