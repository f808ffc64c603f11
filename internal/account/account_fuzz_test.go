package account

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzLookupAccount feeds arbitrary /etc/passwd and /etc/group content to the account
// lookup. Images that run under arbitrary uids (OpenShift's convention) make
// /etc/passwd writable by the account's group so that an entrypoint can add the user,
// so the served user may control these files. Checked against a reference scan of the
// lines written here: the account is the first passwd line of at least 7 fields with
// the name and numeric uid and gid; its home is that line's when absolute, else "/";
// its shell that line's, else /bin/sh; its groups are its gid, then every other group
// whose member list names it. No panic, whatever the bytes.
func FuzzLookupAccount(f *testing.F) {
	passwd, err := os.ReadFile(filepath.Join("testdata", "passwd"))
	if err != nil {
		f.Fatal(err)
	}
	group, err := os.ReadFile(filepath.Join("testdata", "group"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"work", "ma-user", "broken", "root", "nobody"} {
		f.Add(passwd, group, name)
	}
	f.Add([]byte("work:x:1000:1000::relative:\r\nwork:x:1:1::/second:/bin/zsh\n"), []byte("g:x:5:work\ng:x:5:work\nh:x:x:work\n"), "work")
	f.Add([]byte("w:x:4294967296:1::/h:/bin/sh\nw:x:7:8:gecos:/h:/bin/sh:extra\n"), []byte("w:x:8:w\n"), "w")
	dir := f.TempDir()
	passwdPath, groupPath := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	f.Fuzz(func(t *testing.T, passwd, group []byte, name string) {
		if err := os.WriteFile(passwdPath, passwd, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(groupPath, group, 0o600); err != nil {
			t.Fatal(err)
		}
		acct, err := lookupIn(passwdPath, groupPath, name)
		want, ok := referenceAccount(passwd, group, name)
		switch {
		case !ok:
			return // a line too long for the scanner, or a name with ':' or '\n'
		case want == nil:
			if err == nil {
				t.Fatalf("found %+v, want no account %q", acct, name)
			}
		case err != nil:
			t.Fatalf("lookup %q: %v, want %+v", name, err, want)
		case acct.Name != want.Name || acct.UID != want.UID || acct.GID != want.GID || acct.Home != want.Home ||
			acct.Shell != want.Shell || !slices.Equal(acct.Groups, want.Groups):
			t.Fatalf("lookup %q: got %+v, want %+v", name, acct, want)
		}
	})
}

// referenceAccount is FuzzLookupAccount's reference; ok is false for input it does not
// model (lines over 64 KiB, names a passwd line cannot hold).
func referenceAccount(passwd, group []byte, name string) (acct *Account, ok bool) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return nil, false
	}
	lines := func(b []byte) ([]string, bool) {
		var out []string
		for _, l := range bytes.Split(b, []byte("\n")) {
			l = bytes.TrimSuffix(l, []byte("\r"))
			if len(l) >= 64<<10 {
				return nil, false
			}
			if len(l) > 0 && l[0] != '#' {
				out = append(out, string(l))
			}
		}
		return out, true
	}
	pw, ok := lines(passwd)
	if !ok {
		return nil, false
	}
	for _, l := range pw {
		f := strings.Split(l, ":")
		if len(f) < 7 || f[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		acct = &Account{Name: name, UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}
		break
	}
	if acct == nil {
		return nil, true
	}
	if !strings.HasPrefix(acct.Home, "/") {
		acct.Home = "/"
	}
	if acct.Shell == "" {
		acct.Shell = "/bin/sh"
	}
	acct.Groups = []uint32{acct.GID}
	gr, ok := lines(group)
	if !ok {
		return nil, false
	}
	for _, l := range gr {
		f := strings.Split(l, ":")
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil || uint32(gid) == acct.GID {
			continue
		}
		if slices.Contains(strings.Split(f[3], ","), name) {
			acct.Groups = append(acct.Groups, uint32(gid))
		}
	}
	return acct, true
}
