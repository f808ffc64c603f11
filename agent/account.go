package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Account is the one user account jobsshd serves, as read from the user database.
type Account struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups, the primary group first
	Home   string
	Shell  string // the login shell; /bin/sh when the database names none
}

// ErrNoAccount reports that the user database has no entry for the requested name.
var ErrNoAccount = errors.New("no such account")

// AccountLookup finds an account by name. LookupAccount is the real one; tests inject
// their own.
type AccountLookup func(name string) (*Account, error)

// maxDatabaseBytes bounds how much of /etc/passwd and /etc/group is read; both are
// small files, and a huge one is a misconfiguration we refuse to slurp.
const maxDatabaseBytes = 16 << 20

// LookupAccount reads name's entry from /etc/passwd and its groups from /etc/group.
// It parses the files itself rather than using os/user because it also needs the
// login shell, which os/user does not expose, and because the static build has no NSS.
func LookupAccount(name string) (*Account, error) {
	return lookupAccountIn("/etc/passwd", "/etc/group", name)
}

func lookupAccountIn(passwdPath, groupPath, name string) (*Account, error) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return nil, fmt.Errorf("user %q: %w (an account name has no ':' or newline)", name, ErrNoAccount)
	}
	var acct *Account
	err := eachDatabaseLine(passwdPath, func(fields []string) bool {
		// name:password:uid:gid:gecos:home:shell
		if len(fields) < 7 || fields[0] != name {
			return true
		}
		uid, err1 := strconv.ParseUint(fields[2], 10, 32)
		gid, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 != nil || err2 != nil {
			return true
		}
		acct = &Account{Name: name, UID: uint32(uid), GID: uint32(gid), Home: fields[5], Shell: fields[6]}
		return false
	})
	if err != nil {
		return nil, err
	}
	if acct == nil {
		return nil, fmt.Errorf("user %q not found in %s: %w", name, passwdPath, ErrNoAccount)
	}
	if acct.Shell == "" {
		acct.Shell = "/bin/sh"
	}
	if acct.Home == "" || !filepath.IsAbs(acct.Home) {
		acct.Home = "/"
	}
	acct.Groups = []uint32{acct.GID}
	err = eachDatabaseLine(groupPath, func(fields []string) bool {
		// name:password:gid:member,member
		if len(fields) < 4 {
			return true
		}
		gid, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil || uint32(gid) == acct.GID {
			return true
		}
		for _, m := range strings.Split(fields[3], ",") {
			if m == name {
				acct.Groups = append(acct.Groups, uint32(gid))
				break
			}
		}
		return true
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return acct, nil
}

// eachDatabaseLine calls fn with the colon-separated fields of each line of a
// passwd-style file until fn returns false.
func eachDatabaseLine(path string, fn func(fields []string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read user database: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxDatabaseBytes))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if !fn(strings.Split(line, ":")) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read user database %s: %w", path, err)
	}
	return nil
}

// DefaultAccountName picks the account to serve when --user is not given: the account
// jobsshd runs as, but when that is root, `work`, else `ma-user` if present. Serving root
// is only ever explicit (--user root).
func DefaultAccountName(currentUID int, lookupUID func(uid int) (string, error), lookup AccountLookup) (string, error) {
	if currentUID != 0 {
		return lookupUID(currentUID)
	}
	for _, name := range []string{"work", "ma-user"} {
		if _, err := lookup(name); err == nil {
			return name, nil
		}
	}
	return "", errors.New("running as root and neither \"work\" nor \"ma-user\" exists: pass --user NAME for the account to serve (--user root serves root on purpose)")
}

// LookupAccountByUID returns the name of the account with uid, for DefaultAccountName.
func LookupAccountByUID(uid int) (string, error) {
	var name string
	err := eachDatabaseLine("/etc/passwd", func(fields []string) bool {
		if len(fields) >= 3 && fields[2] == strconv.Itoa(uid) {
			name = fields[0]
			return false
		}
		return true
	})
	if err != nil {
		return "", err
	}
	if name == "" {
		return "", fmt.Errorf("uid %d, which jobsshd runs as, has no entry in /etc/passwd: add one or pass --user", uid)
	}
	return name, nil
}
