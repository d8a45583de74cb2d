// Package cidrlist is the format of a key's IP allowlist: CIDRs and single addresses,
// IPv4 and IPv6, stored normalised as one space-separated string. The key lifecycle
// writes it, the exchange reads it; both go through here.
package cidrlist

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Normalize checks entries and returns the list to store: each entry a masked prefix,
// a single address its /32 or /128, an IPv4-mapped prefix the IPv4 prefix it means
// (clients are compared unmapped). The problem is "" when the list is good.
func Normalize(entries []string, max int) (list, problem string) {
	if len(entries) > max {
		return "", fmt.Sprintf("at most %d entries", max)
	}
	out := make([]string, 0, len(entries))
	for _, s := range entries {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return "", fmt.Sprintf("%q is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32", truncate(s, 60))
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked().String())
	}
	return strings.Join(out, " "), ""
}

// Allows reports whether ip is in the stored list; an empty list allows every address,
// an unknown address none.
func Allows(list string, ip netip.Addr) bool {
	if list == "" {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, s := range strings.Fields(list) {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

// Within reports whether every prefix of the stored list inner lies inside some prefix
// of outer, and inner is not empty (empty allows every address).
func Within(inner, outer string) bool {
	in := strings.Fields(inner)
	if len(in) == 0 {
		return false
	}
	for _, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return false
		}
		inside := false
		for _, o := range strings.Fields(outer) {
			op, err := netip.ParsePrefix(o)
			if err == nil && op.Bits() <= p.Bits() && op.Contains(p.Addr()) {
				inside = true
				break
			}
		}
		if !inside {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
