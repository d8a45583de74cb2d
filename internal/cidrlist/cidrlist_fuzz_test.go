package cidrlist

import (
	"net/netip"
	"strings"
	"testing"
)

// maxEntries is the key lifecycle's bound (keys.MaxAllowlistCIDRs).
const maxEntries = 100

// FuzzAllowlist: Normalize either refuses a list (and stores nothing) or returns
// one masked CIDR per entry that validates again to itself; Allows on that stored
// form admits exactly the addresses the entries as given cover; and Within
// only says "narrower" when every address the inner list admits the outer admits too.
// Lists are given comma-separated, so that entries may hold spaces.
func FuzzAllowlist(f *testing.F) {
	for _, c := range [][3]string{
		{"", "", "203.0.113.7"},
		{"203.0.113.0/24", "203.0.113.0/24", "203.0.113.7"},
		{"203.0.113.7/24", "203.0.0.0/16", "203.0.113.200"}, // unmasked entry
		{"203.0.113.7", "203.0.113.0/24", "203.0.113.7"},    // a bare address
		{"2001:db8::/32,10.0.0.0/8", "::/0,0.0.0.0/0", "2001:db8::1"},
		{"::ffff:203.0.113.7", "203.0.113.0/24", "::ffff:203.0.113.7"}, // IPv4-mapped address
		{"::ffff:203.0.113.0/120", "::ffff:203.0.0.0/104", "203.0.113.7"},
		{"fe80::1%eth0", "fe80::/10", "fe80::1%eth0"}, // a zone
		{"0.0.0.0/0", "10.0.0.0/8", "8.8.8.8"},
		{"10.0.0.0/33", "", "10.0.0.1"}, {"10.0.0.0/-1", "", ""}, {" 10.0.0.0/8", "", ""}, {"10.0.0.0/8,", "", ""},
		{"1.2.3.4/32 5.6.7.8/32", "", "1.2.3.4"}, {"01.2.3.4", "", ""}, {"::1/128,::1", "::1/128", "::1"},
		{strings.Repeat("10.0.0.1,", maxEntries-1) + "10.0.0.1", "10.0.0.0/8", "10.0.0.1"},
		{strings.Repeat("10.0.0.1,", maxEntries) + "10.0.0.1", "", ""},
		{strings.Repeat("é", 100), "", "not an address"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, rawInner, rawOuter, rawIP string) {
		// maxEntries entries fit in 5 KB; longer inputs only slow the fuzzer.
		if len(rawInner) > 5000 || len(rawOuter) > 5000 || len(rawIP) > 100 {
			return
		}
		inner, innerEntries, innerOK := fuzzAllowlist(t, rawInner)
		outer, _, outerOK := fuzzAllowlist(t, rawOuter)

		ip, ipErr := netip.ParseAddr(rawIP)
		if innerOK && ipErr == nil {
			if got, want := Allows(inner, ip), coveredBy(innerEntries, ip); got != want {
				t.Fatalf("Allows(%q, %s) = %v, but the entries %q cover it: %v", inner, ip, got, innerEntries, want)
			}
		}
		within := Within(inner, outer)
		if len(strings.Fields(rawInner)) <= maxEntries && len(strings.Fields(rawOuter)) <= maxEntries {
			_ = Within(rawInner, rawOuter) // raw text: only must not panic
		}
		if !innerOK || !outerOK {
			return
		}
		if inner != "" && !Within(inner, inner) {
			t.Fatalf("Within(%q, itself) = false", inner)
		}
		if !within {
			return
		}
		if inner == "" {
			t.Fatalf("Within(\"\", %q) = true: the empty list admits everyone", outer)
		}
		probes := []netip.Addr{}
		if ipErr == nil {
			probes = append(probes, ip)
		}
		for _, s := range strings.Fields(inner) {
			p := netip.MustParsePrefix(s)
			probes = append(probes, p.Addr(), lastAddr(p))
		}
		for _, a := range probes {
			if Allows(inner, a) && !Allows(outer, a) {
				t.Fatalf("Within(%q, %q) = true, but %s is admitted by the first only", inner, outer, a)
			}
		}
	})
}

// fuzzAllowlist validates a comma-separated list and checks the stored form.
func fuzzAllowlist(t *testing.T, raw string) (stored string, entries []string, ok bool) {
	t.Helper()
	if raw != "" {
		entries = strings.Split(raw, ",")
	}
	stored, problem := Normalize(entries, maxEntries)
	if problem != "" {
		if stored != "" {
			t.Fatalf("Normalize(%q) refused the list but returned %q", entries, stored)
		}
		return "", entries, false
	}
	fields := strings.Fields(stored)
	if len(fields) != len(entries) || strings.Join(fields, " ") != stored {
		t.Fatalf("Normalize(%q) = %q: want one space-separated CIDR per entry", entries, stored)
	}
	for _, s := range fields {
		p, err := netip.ParsePrefix(s)
		if err != nil || p != p.Masked() || p.String() != s {
			t.Fatalf("Normalize(%q) stored %q, not a masked CIDR in canonical form (%v)", entries, s, err)
		}
	}
	if got, problem := Normalize(fields, maxEntries); got != stored || problem != "" {
		t.Fatalf("Normalize(its own output %q) = %q, %q", stored, got, problem)
	}
	return stored, entries, true
}

// coveredBy: the empty list admits every address; otherwise some entry, a CIDR or a
// bare address, covers ip as a client's address (IPv4-mapped ones count as IPv4).
func coveredBy(entries []string, ip netip.Addr) bool {
	if len(entries) == 0 {
		return true
	}
	client := ip.Unmap()
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			// An IPv4-mapped prefix of /96 or longer means the IPv4 addresses it maps.
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			if p.Contains(client) {
				return true
			}
		} else if a, err := netip.ParseAddr(e); err == nil && client.Zone() == "" && a.Unmap().WithZone("") == client {
			return true
		}
	}
	return false
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
