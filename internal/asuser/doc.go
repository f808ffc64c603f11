// Package asuser runs a function with the identity of the account jobsshd serves, on one
// OS thread, while the rest of the agent keeps running as root. Whatever the function
// opens, creates, binds or connects to is then checked by the kernel exactly as if the
// account did it: the way sshd's temporarily_use_uid guards the files it touches for a
// user, and the way its per-user child guards unix-socket forwarding.
//
// The package is Linux-only: it relies on per-thread credentials.
package asuser
