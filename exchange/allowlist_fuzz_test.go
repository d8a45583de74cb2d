package exchange

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzAllowlist: validAllowlist either refuses a list (and stores nothing) or returns
// one masked CIDR per entry that validates again to itself; ipAllowed on that stored
// form admits exactly the addresses the entries as given cover; and allowlistWithin
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
		{strings.Repeat("10.0.0.1,", MaxAllowlistCIDRs-1) + "10.0.0.1", "10.0.0.0/8", "10.0.0.1"},
		{strings.Repeat("10.0.0.1,", MaxAllowlistCIDRs) + "10.0.0.1", "", ""},
		{strings.Repeat("é", 100), "", "not an address"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, rawInner, rawOuter, rawIP string) {
		// MaxAllowlistCIDRs entries fit in 5 KB; longer inputs only slow the fuzzer.
		if len(rawInner) > 5000 || len(rawOuter) > 5000 || len(rawIP) > 100 {
			return
		}
		inner, innerEntries, innerOK := fuzzAllowlist(t, rawInner)
		outer, _, outerOK := fuzzAllowlist(t, rawOuter)

		ip, ipErr := netip.ParseAddr(rawIP)
		if innerOK && ipErr == nil {
			if got, want := ipAllowed(inner, ip), coveredBy(innerEntries, ip); got != want {
				t.Fatalf("ipAllowed(%q, %s) = %v, but the entries %q cover it: %v", inner, ip, got, innerEntries, want)
			}
		}
		within := allowlistWithin(inner, outer)
		if len(strings.Fields(rawInner)) <= MaxAllowlistCIDRs && len(strings.Fields(rawOuter)) <= MaxAllowlistCIDRs {
			_ = allowlistWithin(rawInner, rawOuter) // raw text: only must not panic
		}
		if !innerOK || !outerOK {
			return
		}
		if inner != "" && !allowlistWithin(inner, inner) {
			t.Fatalf("allowlistWithin(%q, itself) = false", inner)
		}
		if !within {
			return
		}
		if inner == "" {
			t.Fatalf("allowlistWithin(\"\", %q) = true: the empty list admits everyone", outer)
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
			if ipAllowed(inner, a) && !ipAllowed(outer, a) {
				t.Fatalf("allowlistWithin(%q, %q) = true, but %s is admitted by the first only", inner, outer, a)
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
	verr := &ValidationError{}
	stored = validAllowlist(verr, entries)
	if len(verr.Fields) > 0 {
		if stored != "" {
			t.Fatalf("validAllowlist(%q) refused the list but returned %q", entries, stored)
		}
		for _, fe := range verr.Fields {
			if fe.Field != "ip_allowlist" || fe.Message == "" {
				t.Fatalf("validAllowlist(%q): problem %+v", entries, fe)
			}
		}
		return "", entries, false
	}
	fields := strings.Fields(stored)
	if len(fields) != len(entries) || strings.Join(fields, " ") != stored {
		t.Fatalf("validAllowlist(%q) = %q: want one space-separated CIDR per entry", entries, stored)
	}
	for _, s := range fields {
		p, err := netip.ParsePrefix(s)
		if err != nil || p != p.Masked() || p.String() != s {
			t.Fatalf("validAllowlist(%q) stored %q, not a masked CIDR in canonical form (%v)", entries, s, err)
		}
	}
	again := &ValidationError{}
	if got := validAllowlist(again, fields); got != stored || again.Err() != nil {
		t.Fatalf("validAllowlist(its own output %q) = %q, %v", stored, got, again.Err())
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

// FuzzCursor: key-list cursors decode to an offset within bounds or are refused, and
// every offset a page can produce survives encoding.
func FuzzCursor(f *testing.F) {
	for _, c := range []string{"", encodeCursor(0), encodeCursor(50), encodeCursor(1_000_000), encodeCursor(1_000_001),
		encodeCursor(-1), "azE6NQ==", "azE6KzU", "azE6MDA1", "azE6", "a1:5", "!!!!", strings.Repeat("A", 65),
		"azE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"} {
		f.Add(c, 50)
	}
	f.Add("", -1)
	f.Add("", 1<<62)
	f.Fuzz(func(t *testing.T, c string, offset int) {
		if n, ok := decodeCursor(c); !ok {
			if n != 0 {
				t.Fatalf("decodeCursor(%q) refused with offset %d", c, n)
			}
		} else {
			if n < 0 || n > 1_000_000 {
				t.Fatalf("decodeCursor(%q) = %d: out of bounds", c, n)
			}
			if again, ok := decodeCursor(encodeCursor(n)); !ok || again != n {
				t.Fatalf("offset %d from %q does not survive encoding: %d, %v", n, c, again, ok)
			}
		}
		n, ok := decodeCursor(encodeCursor(offset))
		if inBounds := offset >= 0 && offset <= 1_000_000; ok != inBounds || ok && n != offset {
			t.Fatalf("decodeCursor(encodeCursor(%d)) = %d, %v", offset, n, ok)
		}
	})
}
