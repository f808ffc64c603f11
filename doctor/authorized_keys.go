package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"jobsshd/agent"
	"jobsshd/internal/account"
	"jobsshd/keys"
)

// authorizedKeysPath is where the agent reads the account's own keys from.
func authorizedKeysPath(a *account.Account) string { return agent.AuthorizedKeysPath(a) }

// checkAuthorizedKeys checks ~/.ssh/authorized_keys as the agent reads it at each login.
// It returns the number of usable keys.
func checkAuthorizedKeys(r *Report, a *account.Account) int {
	return checkKeyFile(r, a, authorizedKeysPath(a), true)
}

// checkKeyFiles checks the --authorized-keys files (Config.AuthorizedKeysFiles) and
// returns the number of usable keys they hold together.
func checkKeyFiles(r *Report, a *account.Account, paths []string) int {
	usable := 0
	for _, p := range paths {
		usable += checkKeyFile(r, a, p, false)
	}
	return usable
}

// checkKeyFile checks one authorized_keys file with the agent's own reader
// (keys.AuthorizedKeysFile): opened as the account without blocking, the opened file
// checked by StrictModes with the directories above it, parsed line by line. own is
// true for the account's ~/.ssh/authorized_keys, false for a --authorized-keys file. It
// returns the number of usable keys.
func checkKeyFile(r *Report, a *account.Account, path string, own bool) int {
	ks, lineErrs, err := keys.NewAuthorizedKeysFile(path, int(a.UID), a.GroupIDs(), a.Home, nil).Read()
	switch {
	case errors.Is(err, keys.ErrStrictModes):
		what, fix := splitStrictModesError(err)
		r.fail(fix, "%s: the file is ignored, none of its keys can log in", what)
		return 0
	case errors.Is(err, fs.ErrNotExist) && own:
		r.info("%s does not exist: only id_container can log in (put public keys there to use your own)", path)
		return 0
	case errors.Is(err, fs.ErrNotExist):
		r.warn(fmt.Sprintf("create %s (or check the mount that should provide it), or drop --authorized-keys %s", path, path),
			"--authorized-keys file %s does not exist: no key from it can log in", path)
		return 0
	case err != nil:
		r.fail(fmt.Sprintf("make %s readable by %s (chown %d %s; chmod u+r %s)", path, a.Name, a.UID, path, path),
			"%s cannot be read as %q: %v: the file is ignored", path, a.Name, err)
		return 0
	}
	if own {
		r.ok("%s, ~/.ssh and %s pass StrictModes (owner, mode)", path, a.Home)
	} else {
		r.ok("%s and the directories above it pass StrictModes (owner, mode)", path)
	}
	reportLineErrors(r, lineErrs)
	reportUsable(r, path, len(ks))
	return len(ks)
}

// checkInlineKeys checks the key lines given inline (Config.AuthorizedKeys), which the
// agent parses once at start, and returns the number of usable keys.
func checkInlineKeys(r *Report, lines string) int {
	if lines == "" {
		return 0
	}
	ks, lineErrs := keys.ParseAuthorizedKeys(strings.NewReader(lines), agent.InlineKeysVariable)
	reportLineErrors(r, lineErrs)
	reportUsable(r, agent.InlineKeysVariable, len(ks))
	return len(ks)
}

// reportLineErrors warns of each line the agent ignores, by its line number: the other
// lines still count, as in OpenSSH.
func reportLineErrors(r *Report, lineErrs []*keys.LineError) {
	for _, le := range lineErrs {
		r.warn(fmt.Sprintf("correct or delete line %d of %s (ssh-keygen -l -f FILE checks a key)", le.Line, le.Source),
			"%s line %d is ignored: %v", le.Source, le.Line, le.Err)
	}
}

// reportUsable says how many usable keys source holds.
func reportUsable(r *Report, source string, usable int) {
	switch {
	case usable == 0:
		r.info("%s holds no usable key", source)
	case usable == 1:
		r.ok("%s: 1 usable key", source)
	default:
		r.ok("%s: %d usable keys", source, usable)
	}
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
