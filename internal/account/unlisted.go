package account

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Self is what jobsshd knows of its own identity when /etc/passwd does not list its
// uid: an arbitrary uid with group 0 (OpenShift's restricted default, several notebook
// platforms) has no entry unless the image adds one (OpenSSH needs nss_wrapper there).
type Self struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	Home     string   // $HOME; "" when unset
	Shell    string   // $SHELL; "" when unset
	Wd       string   // the working directory; "" when unknown
	// CanWrite reports whether this process may write in the directory path; nil
	// means access(2) with W_OK.
	CanWrite func(path string) bool
}

// SelfOf is this process's Self, with $HOME and $SHELL from getenv.
func SelfOf(getenv func(string) string) Self {
	s := Self{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: getenv("HOME"), Shell: getenv("SHELL")}
	if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			s.Groups = append(s.Groups, uint32(g))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		s.Wd = wd
	}
	return s
}

// LookupFor is the LookupFunc of an agent running as euid: Lookup, except that an
// agent that is not root and whose uid /etc/passwd does not list serves itself under
// the name asked for (Unlisted). As root a missing account stays an error: root serves
// only real accounts.
func LookupFor(euid int, self func() Self) LookupFunc {
	return lookupForIn("/etc/passwd", "/etc/group", euid, self)
}

// lookupForIn is LookupFor with the user database read from passwdPath and groupPath,
// so that tests pin every branch on fixture files rather than on the machine's.
func lookupForIn(passwdPath, groupPath string, euid int, self func() Self) LookupFunc {
	return func(name string) (*Account, error) {
		a, err := lookupIn(passwdPath, groupPath, name)
		if err == nil && euid != 0 {
			preferUsableHome(a, euid, self)
		}
		if err == nil || euid == 0 || !errors.Is(err, ErrNoAccount) {
			return a, err
		}
		own, ownErr := nameByUIDIn(passwdPath, euid)
		switch {
		case ownErr == nil:
			return nil, &AdvisedError{fmt.Errorf("%w: jobsshd runs as uid %d, which is %q: pass --user %s, or drop --user", err, euid, own, own)}
		case !errors.Is(ownErr, ErrNoAccount):
			return nil, ownErr
		}
		a, uerr := Unlisted(name, self())
		if uerr != nil {
			return nil, &AdvisedError{uerr}
		}
		return a, nil
	}
}

// AdvisedError is a lookup error that names its own fix, so that callers add none.
type AdvisedError struct{ Err error }

func (e *AdvisedError) Error() string { return e.Err.Error() }
func (e *AdvisedError) Unwrap() error { return e.Err }

// Unlisted is the account of a process whose uid has no /etc/passwd entry, served
// under name (--user, or the uid's number): its own uid, gid and groups, the home from
// $HOME (else the working directory), which must be a directory it owns or may write,
// and the shell from $SHELL (else /bin/sh). Account.Unlisted says what was chosen and
// why.
func Unlisted(name string, s Self) (*Account, error) {
	if err := checkLoginName(name); err != nil {
		return nil, err
	}
	home, homeFrom := s.Home, "$HOME"
	if !filepath.IsAbs(home) {
		home, homeFrom = s.Wd, "the working directory, as $HOME is not an absolute path"
	}
	if err := checkUnlistedHome(home, homeFrom, s); err != nil {
		return nil, err
	}
	shell, shellFrom := s.Shell, "$SHELL"
	if !filepath.IsAbs(shell) {
		shell, shellFrom = "/bin/sh", "the default, as $SHELL is not an absolute path"
	}
	groups := []uint32{s.GID}
	for _, g := range s.Groups {
		if g != s.GID {
			groups = append(groups, g)
		}
	}
	a := &Account{Name: name, UID: s.UID, GID: s.GID, Groups: groups, Home: home, Shell: shell}
	a.Unlisted = fmt.Sprintf("uid %d has no entry in /etc/passwd, so jobsshd serves itself as %q with home %s (%s), shell %s (%s) and groups %v",
		s.UID, name, home, homeFrom, shell, shellFrom, groups)
	return a, nil
}

// checkLoginName refuses a name that cannot be a login name: clients put it before
// '@', and sessions get it as USER and LOGNAME.
func checkLoginName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, ":/@ \t\n") {
		return fmt.Errorf("login name %q: pass --user with a name of letters, digits, '.', '_' or '-' (64 at most)", name)
	}
	return nil
}

// checkUnlistedHome checks that home, where sessions start and id_container is
// written, is a directory that s owns or may write.
func checkUnlistedHome(home, from string, s Self) error {
	fix := fmt.Sprintf("set HOME to a directory uid %d owns or may write (a volume, or one the image makes with group 0 write permission)", s.UID)
	if home == "" {
		return fmt.Errorf("uid %d has no entry in /etc/passwd and no home: neither $HOME nor the working directory is known: %s", s.UID, fix)
	}
	fi, err := os.Stat(home)
	if err != nil {
		return fmt.Errorf("home %s (%s) of uid %d, which has no /etc/passwd entry: %w: %s", home, from, s.UID, err, fix)
	}
	if !fi.IsDir() {
		return fmt.Errorf("home %s (%s) of uid %d is not a directory: %s", home, from, s.UID, fix)
	}
	canWrite := s.CanWrite
	if canWrite == nil {
		canWrite = func(p string) bool { return syscall.Access(p, 2 /* W_OK */) == nil }
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == s.UID || canWrite(home) {
		return nil
	}
	return fmt.Errorf("home %s (%s) of uid %d is neither its own nor writable by it: %s", home, from, s.UID, fix)
}

// uidName is the name DefaultName gives a uid without an /etc/passwd entry: its number.
func uidName(uid int) string { return strconv.Itoa(uid) }
