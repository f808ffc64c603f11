package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"jobsshd/keys"
)

// authorizedKeysPath is where the agent reads the account's own keys from.
func authorizedKeysPath(a *account) string {
	return filepath.Join(a.Home, ".ssh", "authorized_keys")
}

// checkAuthorizedKeys checks ~/.ssh/authorized_keys as the agent reads it at each
// login (keys.AuthorizedKeysFile): StrictModes on the file and the directories above it,
// opened with the account's identity, parsed line by line. It returns the number of
// usable keys.
func checkAuthorizedKeys(r *Report, a *account) int {
	path := authorizedKeysPath(a)
	err := keys.CheckStrictModes(path, int(a.UID), a.gids, a.Home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.info("%s does not exist: only id_container can log in (put public keys there to use your own)", path)
		return 0
	case errors.Is(err, keys.ErrStrictModes):
		what, fix := splitStrictModesError(err)
		r.fail(fix, "%s: the file is ignored, none of its keys can log in", what)
		return 0
	case err != nil:
		r.fail("check that the account can reach "+path, "authorized_keys: %v: the file is ignored", err)
		return 0
	}

	var lineErrs []*keys.LineError
	var usable int
	fsgid := 65534 // the agent's fallback when the account has no groups ("nogroup")
	if len(a.gids) > 0 {
		fsgid = a.gids[0]
	}
	err = asAccount(int(a.UID), fsgid, a.gids, func() error {
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		defer f.Close() // read-only
		var ks []keys.AuthorizedKey
		ks, lineErrs = keys.ParseAuthorizedKeys(f, path)
		usable = len(ks)
		return nil
	})
	if err != nil {
		r.fail(fmt.Sprintf("make %s readable by %s (chown %d %s; chmod u+r %s)", path, a.Name, a.UID, path, path),
			"%s cannot be opened as %q: %v: the file is ignored", path, a.Name, err)
		return 0
	}
	r.ok("%s, ~/.ssh and %s pass StrictModes (owner, mode)", path, a.Home)
	for _, le := range lineErrs {
		r.warn(fmt.Sprintf("correct or delete line %d of %s (ssh-keygen -l -f FILE checks a key)", le.Line, le.Source),
			"%s line %d is ignored: %v", le.Source, le.Line, le.Err)
	}
	switch {
	case usable == 0:
		r.info("%s holds no usable key", path)
	case usable == 1:
		r.ok("%s: 1 usable key", path)
	default:
		r.ok("%s: %d usable keys", path, usable)
	}
	return usable
}

// splitStrictModesError splits a keys.ErrStrictModes refusal into what is wrong and the
// command that fixes it: the keys package ends each such message with the fix after a
// last ": " (chmod, chown or a replacement), see keys.CheckStrictModes.
func splitStrictModesError(err error) (what, fix string) {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		tail := msg[i+2:]
		for _, verb := range []string{"chmod ", "chown ", "replace "} {
			if strings.HasPrefix(tail, verb) {
				return msg[:i], tail
			}
		}
	}
	return msg, "make the file and every directory above it up to the home directory owned by the account or root and not writable by group or others"
}
