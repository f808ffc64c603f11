package agent

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

// openSSHSourceAddressMatch is the reference for FuzzCheckSourceAddress: OpenSSH's
// addr_match_cidr_list (openssh-portable addrmatch.c), written with the net package
// rather than netip. It reports whether from is in list, and whether list is valid at
// all: every entry non-empty, at most 49 characters of "0-9a-fA-F.:/", an address or a
// prefix without host bits set. OpenSSH refuses a certificate whose list is invalid,
// even when an entry matches.
func openSSHSourceAddressMatch(list string, from netip.Addr) (match, valid bool) {
	ip := net.IP(from.AsSlice())
	for _, entry := range strings.Split(list, ",") {
		if entry == "" || len(entry) > 49 || strings.Trim(entry, "0123456789abcdefABCDEF.:/") != "" {
			return false, false
		}
		var network *net.IPNet
		if strings.Contains(entry, "/") {
			addr, n, err := net.ParseCIDR(entry)
			if err != nil || !addr.Equal(n.IP) {
				return false, false
			}
			network = n
		} else {
			addr := net.ParseIP(entry)
			if addr == nil {
				return false, false
			}
			if v4 := addr.To4(); v4 != nil {
				addr = v4
			}
			network = &net.IPNet{IP: addr, Mask: net.CIDRMask(len(addr)*8, len(addr)*8)}
		}
		if from.IsValid() && network.Contains(ip) {
			match = true
		}
	}
	return match, true
}

// FuzzCheckSourceAddress feeds arbitrary source-address options (from the client's
// certificate) and client addresses to checkSourceAddress. It must never let in a
// client that OpenSSH's sshd would refuse: a list OpenSSH finds invalid anywhere, or
// one that does not hold the address. netip and net disagree on a few spellings
// (leading zeros, IPv4-mapped prefixes), so only that direction is checked, plus the
// one that matters for users: a valid list naming the address itself, as ssh-keygen
// writes it, lets the client in.
func FuzzCheckSourceAddress(f *testing.F) {
	for _, seed := range [][2]string{
		{"10.0.0.0/8,127.0.0.1", "127.0.0.1"}, {"192.0.2.0/24", "10.1.2.3"}, {"10.0.0.1/8", "10.1.2.3"},
		{"127.0.0.1,garbage", "127.0.0.1"}, {" 127.0.0.1", "127.0.0.1"}, {"::1", "::1"}, {"fe80::1%eth0", "fe80::1"},
		{"::ffff:10.0.0.1", "10.0.0.1"}, {"", "10.0.0.1"}, {"2001:db8::/32,10.0.0.0/8", "2001:db8::5"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, list, fromText string) {
		from, _ := netip.ParseAddr(fromText) // an invalid address is a case too
		err := checkSourceAddress(list, from)
		match, valid := openSSHSourceAddressMatch(list, from)
		if err == nil && !(valid && match) {
			t.Fatalf("checkSourceAddress(%q, %v): accepted; OpenSSH's rules: valid %v, match %v", list, from, valid, match)
		}
		if from.IsValid() && from.Zone() == "" {
			own := from.Unmap().String()
			if err := checkSourceAddress(own, from.Unmap()); err != nil {
				t.Fatalf("checkSourceAddress(%q, %v): %v, want the address itself accepted", own, from.Unmap(), err)
			}
		}
	})
}
