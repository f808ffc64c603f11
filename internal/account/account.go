package account

import (
	"errors"
	"fmt"
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
	// Unlisted, when not "", says that the account is not from /etc/passwd but the
	// agent's own identity (unlisted.go), with what was chosen and why.
	Unlisted string
	// HomeNote, when not "", says that Home is $HOME rather than the home /etc/passwd
	// names, and why (usable_home.go).
	HomeNote string
}

// ErrNoAccount reports that the user database has no entry for the requested name.
var ErrNoAccount = errors.New("no such account")

// LookupFunc finds an account by name. Lookup is the real one; tests inject their own.
type LookupFunc func(name string) (*Account, error)

// Lookup reads name's entry from /etc/passwd and its groups from /etc/group.
// It parses the files itself rather than using os/user because it also needs the
// login shell, which os/user does not expose, and because the static build has no NSS.
func Lookup(name string) (*Account, error) {
	return lookupIn("/etc/passwd", "/etc/group", name)
}

func lookupIn(passwdPath, groupPath, name string) (*Account, error) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return nil, fmt.Errorf("user %q: %w (an account name has no ':' or newline)", name, ErrNoAccount)
	}
	var acct *Account
	err := eachLine(passwdPath, func(fields []string) bool {
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
	if err != nil && !errors.Is(err, os.ErrNotExist) { // no file lists no one (a minimal image)
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
	err = eachLine(groupPath, func(fields []string) bool {
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

// DefaultName picks the account to serve when --user is not given: the account
// jobsshd runs as (its uid's number when /etc/passwd does not list it: see Unlisted),
// but when that is root, `work`, else `ma-user` if present. Serving root is only ever
// explicit (--user root).
func DefaultName(currentUID int, lookupUID func(uid int) (string, error), lookup LookupFunc) (string, error) {
	if currentUID != 0 {
		name, err := lookupUID(currentUID)
		if errors.Is(err, ErrNoAccount) {
			return uidName(currentUID), nil
		}
		return name, err
	}
	for _, name := range []string{"work", "ma-user"} {
		if _, err := lookup(name); err == nil {
			return name, nil
		}
	}
	return "", errors.New("running as root and neither \"work\" nor \"ma-user\" exists: pass --user NAME for the account to serve (--user root serves root on purpose)")
}

// NameByUID returns the name of the account with uid, for DefaultName.
func NameByUID(uid int) (string, error) {
	return nameByUIDIn("/etc/passwd", uid)
}

func nameByUIDIn(passwdPath string, uid int) (string, error) {
	var name string
	err := eachLine(passwdPath, func(fields []string) bool {
		if len(fields) >= 3 && fields[2] == strconv.Itoa(uid) {
			name = fields[0]
			return false
		}
		return true
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) { // no file lists no one (a minimal image)
		return "", err
	}
	if name == "" {
		return "", fmt.Errorf("uid %d has no entry in %s: %w", uid, passwdPath, ErrNoAccount)
	}
	return name, nil
}
