package jobtrust

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// maxHostLen is the longest DNS name (RFC 1035 §2.3.4).
const maxHostLen = 253

// ParseHosts splits a comma-separated host list (--job-hosts, VC_WORKER_HOSTS) into its
// entries, trimmed, without empty ones. Every entry must be a hostname or an IP address:
// the list ends up in ~/.ssh/config Host lines and known_hosts, where a character such
// as '*', '?', '!' or a space would be a pattern matching hosts outside the job.
func ParseHosts(list string) ([]string, error) {
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if err := checkHost(h); err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// checkHost accepts an IP address (no zone) or a hostname of letters, digits, '-', '_'
// and '.', which neither OpenSSH's config nor known_hosts read as a pattern.
func checkHost(h string) error {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("job host %q: an address with a zone cannot be matched; give the address without %%%s", h, a.Zone())
		}
		return nil
	}
	if len(h) > maxHostLen {
		return fmt.Errorf("job host %q: longer than %d characters", h[:32]+"...", maxHostLen)
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
		if !ok {
			return fmt.Errorf("job host %q: %q is not allowed in a hostname (use letters, digits, '-', '_', '.' or an IP address)", h, c)
		}
	}
	if h[0] == '-' || h[0] == '.' {
		return fmt.Errorf("job host %q: a hostname starts with a letter or digit", h)
	}
	return nil
}

// HostsFromEnv collects the job hosts from every VC_*_HOSTS variable of environ (Volcano
// sets one per task, VC_WORKER_HOSTS, VC_PS_HOSTS, ...), in the order of the variable
// names, each host once. A variable with an entry that is not a hostname or address is
// skipped and reported in the error, which the caller may log and ignore: the platform
// wrote it, not the operator.
func HostsFromEnv(environ []string) (hosts []string, err error) {
	vars := map[string]string{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "VC_") && strings.HasSuffix(name, "_HOSTS") && len(name) > len("VC__HOSTS") {
			vars[name] = value
		}
	}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad []string
	for _, n := range names {
		list, perr := ParseHosts(vars[n])
		if perr != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", n, perr))
			continue
		}
		hosts = MergeHosts(hosts, list)
	}
	if len(bad) > 0 {
		err = fmt.Errorf("ignored %s", strings.Join(bad, "; "))
	}
	return hosts, err
}

// MergeHosts returns a followed by the entries of b that a does not hold yet.
func MergeHosts(a, b []string) []string {
	out := slices.Clone(a)
	for _, h := range b {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
