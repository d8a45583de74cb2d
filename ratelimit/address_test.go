package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAddressKey(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},     // IPv4-mapped: the IPv4 address
		{"::ffff:c000:207", "192.0.2.7/32"},      // the same, written in hex
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"}, // IPv6: its /64
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::abcd", "2001:db8:1:2::/64"}, // case does not matter
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},    // the next /64 is another group
		{"fe80::1%eth0", "fe80::/64"},               // zone dropped
		{"fe80::1%eth1", "fe80::/64"},
		{"::1", "::/64"},
		{"::", "::/64"},
		{"0.0.0.0", "0.0.0.0/32"},
		{"", InvalidAddress},
		{"not an address", InvalidAddress},
		{"192.0.2.7:443", InvalidAddress}, // with a port: not an address
		{"[2001:db8::1]", InvalidAddress},
		{"192.0.2.7/24", InvalidAddress},
		{"192.0.2.7, 198.51.100.1", InvalidAddress}, // an X-Forwarded-For list
		{"192.0.2.256", InvalidAddress},
		{"١٩٢.0.2.7", InvalidAddress}, // non-ASCII digits
		{strings.Repeat("1", 10000), InvalidAddress},
	} {
		if got := AddressKey(c.addr); got != c.want {
			t.Errorf("AddressKey(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// The netip form and the text form are one grouping.
func TestAddressPrefix_SameGroupsAsAddressKey(t *testing.T) {
	for _, a := range []string{"192.0.2.7", "::ffff:192.0.2.7", "2001:db8::1", "fe80::1%eth0"} {
		if got := AddressPrefix(netip.MustParseAddr(a)).String(); got != AddressKey(a) {
			t.Errorf("%s: AddressPrefix %s, AddressKey %s", a, got, AddressKey(a))
		}
	}
	if p := AddressPrefix(netip.Addr{}); p.IsValid() || p != (netip.Prefix{}) {
		t.Errorf("the zero address: %v, want the zero prefix (one shared group)", p)
	}
}
