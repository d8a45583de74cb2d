package ratelimit

import "net/netip"

// InvalidAddress is the key every client address that does not parse counts under:
// such callers share one budget, so that garbage can neither escape a limit (no key)
// nor buy a fresh budget per variant (a key per raw string). gin hands over a parsed
// address, so this is a proxy or wiring fault, not a client's choice.
const InvalidAddress = "invalid"

// AddressPrefix is the group of addresses that share one budget: an IPv4 address on
// its own (an IPv4-mapped IPv6 address counts as its IPv4 address), an IPv6 address's
// /64 (one host commonly holds a whole /64), zone dropped. Every per-address limit
// keys on it. The zero Addr gives the zero Prefix, one shared group.
func AddressPrefix(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits) // cannot fail: valid address, bits in range
	return p
}

// AddressKey is AddressPrefix as a limiter key, for a client address as text (gin's
// ClientIP): "192.0.2.7/32", "2001:db8:1:2::/64", or InvalidAddress.
func AddressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return InvalidAddress
	}
	return AddressPrefix(ip).String()
}
