package keys

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxFromEntry bounds one entry of a from= list: sshd's match_pattern_list copies each
// into a 1024-byte buffer. No host name is longer than 253 bytes.
const maxFromEntry = 1023

// fromEntry is one entry of a from= pattern list.
type fromEntry struct {
	negated bool
	pattern string       // lower-cased, for '*' and '?' matching
	prefix  netip.Prefix // valid when the entry is an address or a CIDR block
}

// MatchFrom reports whether a client may use a key whose from= value is patterns
// (OpenSSH's match_host_and_ip, with sshd's default UseDNS no). addr is the client's
// address and hostname its verified host name, or "" when there is none (jobsshd does
// no DNS lookups): then the address text stands in for the name, as in sshd.
//
// patterns is a comma-separated list. An entry is an address ("10.1.2.3", "::1"), a
// CIDR block ("10.0.0.0/8", "fd00::/8") or a pattern with '*' and '?' wildcards
// matched, ignoring case, against the address text and the host name ("10.0.0.*",
// "*.example.org"). A '!' in front negates an entry. The result is true when some
// entry matches and no negated entry does: a negated match anywhere in the list wins.
// An IPv4-mapped IPv6 address (::ffff:10.1.2.3) is matched as the IPv4 address it
// carries, and an IPv6 zone is ignored. So are IPv4-mapped address and CIDR entries
// (::ffff:10.1.2.3, ::ffff:10.0.0.0/104 is 10.0.0.0/8), as --allow-cidr and a
// certificate's source-address read them: sshd compares them with the unmapped client
// address and they never match, which silently drops a negated entry
// ("!::ffff:10.1.2.3,*" would let 10.1.2.3 in). A mapped CIDR shorter than /96 mixes
// IPv4 and IPv6 and makes the list malformed. Wildcard patterns are matched against
// the unmapped address text, as in sshd.
//
// A malformed list matches nothing, as sshd then refuses the key: an empty list or
// entry ("a,,b", "!"), an entry longer than 1023 bytes, or an entry with '/' that is
// not a CIDR block whose address has no bits set past the prefix ("10.0.0.1/8",
// "10.0.0.0/33"). sshd only treats the last two kinds as errors and would silently
// never match other entries with '/'; refusing them keeps a mistyped "!10.0.0.0/88"
// from quietly dropping the exclusion. ParseKeyOptions reports all of these as errors.
func MatchFrom(patterns string, addr netip.Addr, hostname string) bool {
	entries, err := parseFromList(patterns)
	if err != nil {
		return false
	}
	var addrText string
	if addr.IsValid() {
		addr = addr.Unmap().WithZone("")
		addrText = addr.String()
	}
	host := strings.ToLower(hostname)
	if host == "" {
		host = addrText
	}
	if host == "" {
		return false // nothing known about the client to match
	}
	matched := false
	for _, e := range entries {
		hit := e.prefix.IsValid() && addr.IsValid() && e.prefix.Contains(addr) ||
			addrText != "" && matchPattern(addrText, e.pattern) ||
			matchPattern(host, e.pattern)
		if hit && e.negated {
			return false
		}
		matched = matched || hit
	}
	return matched
}

// parseFromList splits a from= pattern list into its entries, or says what makes it
// malformed (see MatchFrom). Entries are named by position, not quoted.
func parseFromList(patterns string) ([]fromEntry, error) {
	if patterns == "" {
		return nil, errors.New("empty pattern list")
	}
	items := strings.Split(patterns, ",")
	entries := make([]fromEntry, 0, len(items))
	for i, item := range items {
		rest, negated := strings.CutPrefix(item, "!")
		if rest == "" {
			return nil, fmt.Errorf("entry %d of %d is empty", i+1, len(items))
		}
		if len(rest) > maxFromEntry {
			return nil, fmt.Errorf("entry %d of %d is longer than %d bytes", i+1, len(items), maxFromEntry)
		}
		e := fromEntry{negated: negated, pattern: strings.ToLower(rest)}
		if strings.Contains(rest, "/") {
			p, err := netip.ParsePrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("entry %d of %d is not a CIDR block (want e.g. 10.0.0.0/8 or fd00::/8)", i+1, len(items))
			}
			if p != p.Masked() {
				return nil, fmt.Errorf("entry %d of %d has address bits set past its /%d prefix (did you mean %s?)", i+1, len(items), p.Bits(), p.Masked())
			}
			if p.Addr().Is4In6() {
				if p.Bits() < 96 {
					return nil, fmt.Errorf("entry %d of %d mixes IPv4-mapped and other IPv6 addresses: give IPv4 networks as IPv4 (e.g. 10.0.0.0/8)", i+1, len(items))
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			e.prefix = p
		} else if a, err := netip.ParseAddr(rest); err == nil && a.Zone() == "" {
			e.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// matchPattern reports whether s matches pattern, where '*' matches any run of bytes
// and '?' any one byte (OpenSSH's match_pattern). It backtracks only to the last '*',
// so it runs in O(len(s)·len(pattern)) however many stars the pattern holds.
func matchPattern(s, pattern string) bool {
	si, pi := 0, 0
	star, starAt := -1, 0 // the last '*' seen in pattern, and where in s it began
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case pi < len(pattern) && pattern[pi] == '*':
			star, starAt = pi, si
			pi++
		case star >= 0:
			// Let the last '*' swallow one more byte and retry from there.
			starAt++
			si, pi = starAt, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}
