package mobile

import "net/netip"

// SameNetwork reports whether two IP addresses look like the same network:
// equal, or both IPv4 in the same /24, or both IPv6 in the same /64.
// IPv4-mapped IPv6 addresses count as IPv4 and zones are ignored. An
// address that does not parse is never on the same network.
//
// A /24 is the usual home or office IPv4 subnet behind one router, and a
// /64 is the smallest IPv6 subnet a router hands out; a wider rule would
// call strangers at the same provider "your network".
func SameNetwork(a, b string) bool {
	x, err := netip.ParseAddr(a)
	if err != nil {
		return false
	}
	y, err := netip.ParseAddr(b)
	if err != nil {
		return false
	}
	x, y = x.Unmap().WithZone(""), y.Unmap().WithZone("")
	if x == y {
		return true
	}
	if x.Is4() != y.Is4() {
		return false
	}
	bits := 64
	if x.Is4() {
		bits = 24
	}
	prefix, err := x.Prefix(bits)
	return err == nil && prefix.Contains(y)
}
