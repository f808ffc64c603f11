package keys

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// readSeedLines returns the lines of a seed file under testdata.
func readSeedLines(f *testing.F, path ...string) []string {
	f.Helper()
	file, err := os.Open(filepath.Join(append([]string{"testdata"}, path...)...))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close() // read-only
	var lines []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		f.Fatal(err)
	}
	return lines
}

// formatKeyOptions writes o back as options in a canonical form, for the round trip:
// flags as no-*, each value quoted with '"' escaped.
func formatKeyOptions(o KeyOptions) []string {
	var out []string
	for _, fl := range []struct {
		off  bool
		name string
	}{{o.NoPTY, "no-pty"}, {o.NoPortForwarding, "no-port-forwarding"}, {o.NoAgentForwarding, "no-agent-forwarding"},
		{o.NoX11Forwarding, "no-X11-forwarding"}, {o.NoUserRC, "no-user-rc"}, {o.NoTouchRequired, "no-touch-required"},
		{o.CertAuthority, "cert-authority"}} {
		if fl.off {
			out = append(out, fl.name)
		}
	}
	quoted := func(name, value string) {
		out = append(out, name+`="`+strings.ReplaceAll(value, `"`, `\"`)+`"`)
	}
	for _, from := range o.From {
		quoted("from", from)
	}
	if o.HasCommand {
		quoted("command", o.Command)
	}
	for _, hp := range o.PermitOpen {
		quoted("permitopen", hp.String())
	}
	for _, hp := range o.PermitListen {
		quoted("permitlisten", hp.String())
	}
	for _, kv := range o.Environment {
		quoted("environment", kv)
	}
	if t := o.ExpiryTime; !t.IsZero() {
		if t.Location() == time.UTC {
			quoted("expiry-time", t.Format("20060102150405")+"Z")
		} else {
			quoted("expiry-time", t.Format("20060102150405"))
		}
	}
	if o.Principals != nil {
		quoted("principals", strings.Join(o.Principals, ","))
	}
	return out
}

// sameKeyOptions reports whether a and b are equal, expiry times compared as instants.
func sameKeyOptions(a, b KeyOptions) bool {
	if !a.ExpiryTime.Equal(b.ExpiryTime) {
		return false
	}
	a.ExpiryTime, b.ExpiryTime = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// FuzzParseKeyOptions checks that no option list panics the parser, and that a list it
// accepts is stable: written back in canonical form, alone or on an authorized_keys
// line read by x/crypto/ssh, it parses to the same options. Inputs are the options
// field of a line, split by x/crypto as ParseAuthorizedKeys splits it, and also split
// naively at commas, which yields lists x/crypto would never produce.
func FuzzParseKeyOptions(f *testing.F) {
	for _, line := range readSeedLines(f, "key_options", "seeds") {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, field string) {
		lists := [][]string{strings.Split(field, ",")}
		if _, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(field + " " + aliceKey)); err == nil {
			lists = append(lists, opts)
		}
		for _, opts := range lists {
			o, err := parseKeyOptions(opts, testZone)
			if err != nil {
				if !reflect.DeepEqual(o, KeyOptions{}) {
					t.Fatalf("parse %q: error %v with non-zero options %+v", opts, err, o)
				}
				continue
			}
			canonical := formatKeyOptions(o)
			again, err := parseKeyOptions(canonical, testZone)
			if err != nil || !sameKeyOptions(again, o) {
				t.Fatalf("parse %q: got %+v; canonical form %q parses to %+v, %v", opts, o, canonical, again, err)
			}
			line := strings.Join(canonical, ",") + " " + aliceKey
			if len(canonical) == 0 {
				line = aliceKey
			}
			_, _, split, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				t.Fatalf("canonical line %q does not parse: %v", line, err)
			}
			if again, err = parseKeyOptions(split, testZone); err != nil || !sameKeyOptions(again, o) {
				t.Fatalf("parse %q: got %+v; canonical line %q parses to %+v, %v", opts, o, line, again, err)
			}
		}
	})
}

// FuzzMatchFrom checks that no pattern list, address or host name panics MatchFrom,
// and properties that hold whatever the input: a malformed list matches nothing, a
// trailing "!*" refuses everyone, a mapped address matches as its IPv4 address, and a
// leading "*" never turns a match into a refusal.
func FuzzMatchFrom(f *testing.F) {
	for _, line := range readSeedLines(f, "match_from", "seeds") {
		patterns, rest, _ := strings.Cut(line, "\t")
		addr, hostname, _ := strings.Cut(rest, "\t")
		f.Add(patterns, addr, hostname)
	}
	f.Fuzz(func(t *testing.T, patterns, addrText, hostname string) {
		addr, _ := netip.ParseAddr(addrText) // an invalid address is a case too
		got := MatchFrom(patterns, addr, hostname)
		if _, err := parseFromList(patterns); err != nil && got {
			t.Fatalf("MatchFrom(%q, %v, %q): true for a malformed list (%v)", patterns, addr, hostname, err)
		}
		if MatchFrom(patterns+",!*", addr, hostname) {
			t.Fatalf("MatchFrom(%q, %v, %q): true despite a trailing !*", patterns+",!*", addr, hostname)
		}
		if addr.Is4() {
			mapped := netip.AddrFrom16(addr.As16())
			if m := MatchFrom(patterns, mapped, hostname); m != got {
				t.Fatalf("MatchFrom(%q, %v, %q) = %v, but %v for the mapped address", patterns, addr, hostname, got, m)
			}
		}
		if got && !MatchFrom("*,"+patterns, addr, hostname) {
			t.Fatalf("MatchFrom(%q, %v, %q): true, but false with a leading *", patterns, addr, hostname)
		}
	})
}
