package account

import (
	"fmt"
	"path/filepath"
)

// preferUsableHome makes $HOME the home of a, the account an agent that is not root
// serves as itself (uid euid), when the home /etc/passwd names is not one it owns or
// may write and $HOME is. Container engines add such entries for a uid the image does
// not list: `podman run --user 1000680000:0` (without --passwd=false) and CRI-O write
// one whose home is the working directory, "/" by default, where the uid can neither
// write id_container nor keep .ssh. A platform that gives the container a writable
// $HOME (a volume, `-e HOME=...`) means it as the home; when the entry's home is
// usable it stays, so an image's own accounts behave as before. $HOME is the agent's
// own environment and the agent already runs as that uid: it reaches nothing the uid
// could not. a.HomeNote says what was chosen.
func preferUsableHome(a *Account, euid int, self func() Self) {
	if a.UID != uint32(euid) {
		return // not itself: the lookup's caller refuses serving another uid
	}
	s := self()
	if checkUnlistedHome(a.Home, "/etc/passwd", s) == nil {
		return
	}
	if !filepath.IsAbs(s.Home) || filepath.Clean(s.Home) == filepath.Clean(a.Home) || checkUnlistedHome(s.Home, "$HOME", s) != nil {
		return // nothing better: the errors of what needs the home name the fix
	}
	a.HomeNote = fmt.Sprintf("the home %s that /etc/passwd gives uid %d is neither its own nor writable by it (an entry a container engine adds: home / or the working directory), so jobsshd uses $HOME, %s, for id_container, .ssh and sessions",
		a.Home, a.UID, s.Home)
	a.Home = s.Home
}
