package agent

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxSourceAddressEntry is the longest entry OpenSSH takes: INET6_ADDRSTRLEN (46) plus
// room for "/128".
const maxSourceAddressEntry = 46 + 3

// parseSourceAddress reads a certificate's source-address critical option as OpenSSH's
// addr_match_cidr_list does (openssh-portable addrmatch.c): a comma-separated list of
// addresses and CIDR prefixes, every one of which must be well formed, wherever it is
// in the list and whether or not an earlier entry matches: no empty entry, no blank, no
// zone, no prefix with host bits set ("inconsistent mask length"). A bad entry makes
// the whole option bad, which refuses the certificate: a CA's malformed restriction
// fails closed. A plain address that is an IPv4-mapped IPv6 address stands for its
// IPv4 address.
func parseSourceAddress(list string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for _, entry := range strings.Split(list, ",") {
		p, err := parseSourceAddressEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("the certificate's source-address %q has a bad entry %q: %w", list, entry, err)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

func parseSourceAddressEntry(entry string) (netip.Prefix, error) {
	if len(entry) > maxSourceAddressEntry {
		return netip.Prefix{}, fmt.Errorf("longer than %d characters", maxSourceAddressEntry)
	}
	if i := strings.IndexFunc(entry, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF.:/", r) }); i >= 0 {
		return netip.Prefix{}, fmt.Errorf("%q is not part of an address or prefix", entry[i:i+1])
	}
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, errors.New("not a CIDR prefix")
		}
		if p != p.Masked() {
			return netip.Prefix{}, fmt.Errorf("host bits set: the prefix is %s", p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(entry)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
