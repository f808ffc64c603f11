// Package pathwalk resolves a path as the kernel would, one component at a time, but
// opens every entry with O_PATH|O_NOFOLLOW relative to the directory before it and
// shows it (its fstat, on the descriptor) to the caller's rules before using it. A root
// process uses it where a path crosses directories or symlinks others may control: what
// a rule accepted is what the walk goes on from, so nobody can swap an entry between
// the check and the use. Symlinks are followed by hand (their targets walked the same
// way), which openat2's RESOLVE_NO_SYMLINKS would refuse outright and which Kubernetes
// Secret mounts (..data links) need.
package pathwalk
