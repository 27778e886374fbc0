// Package netaddr answers small questions about listen addresses that the
// admin listener and the embedded NATS both ask before they expose
// something.
package netaddr

import (
	"net"
	"net/netip"
	"strings"
)

// IsLoopbackHost reports whether host (no port; IPv6 with or without
// brackets) is "localhost" or a loopback IP. Any other name counts as not
// loopback: what it resolves to can change.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// IsLoopback reports whether hostport names a loopback host; an empty
// host ("":4222) means every interface, so it is not.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	return err == nil && host != "" && IsLoopbackHost(host)
}
