package account

import "jobsshd/internal/asuser"

// GroupIDs returns a's groups (primary first) as the ints that syscalls and the keys
// package take.
func (a *Account) GroupIDs() []int {
	gids := make([]int, len(a.Groups))
	for i, g := range a.Groups {
		gids[i] = int(g)
	}
	return gids
}

// Do runs fn with a's identity, uid, gid and every group (see asuser.Do): the kernel
// checks what fn opens, creates, binds and connects to as for the account, even while
// jobsshd runs as root. The process must be root or the account itself.
func (a *Account) Do(fn func() error) error {
	return asuser.Do(int(a.UID), int(a.GID), a.GroupIDs(), fn)
}
