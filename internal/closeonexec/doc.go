// Package closeonexec keeps descriptors that jobsshd inherited from whoever started it
// (a supervisor, a wrapper script's `exec 7<file`) out of the programs it starts for
// users: it marks every descriptor above stderr close-on-exec, as OpenSSH's sshd does
// with closefrom(STDERR_FILENO + 1) at start (sshd.c).
package closeonexec
