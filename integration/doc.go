// Package integration drives the built jobsshd binary with real clients: OpenSSH ssh,
// scp, sftp, ssh-keyscan and ssh-agent, PuTTY plink, pscp, psftp and puttygen, rsync,
// curl (through -D tunnels, and sftp:// through libssh2), paramiko and asyncssh (through
// testdata/*.py run by Debian's /usr/bin/python3), Dropbear's dbclient, rclone and lftp
// (the client matrix, client_matrix_test.go).
//
// The tests build the binary once (TestMain), start one agent per test on 127.0.0.1 with
// a random port and its own state directory and id_container key, and serve local test
// accounts (jobtest; jobtest-ak-* for tests that rewrite ~/.ssh; jobtest-other;
// jobtest-chatty, whose rc files print), which they create with useradd when missing,
// members of the group jobtest-sup. They must run as root, because the agent switches to
// the served account, and some mount a tmpfs or hide binaries in a private mount
// namespace; a missing client is a failure, never a skip, so CI cannot pass by not
// testing. They run only with JOBSSHD_INTEGRATION=1 (.ci/run sets it); without it they
// skip with one line, so that `go test ./...` works for anyone.
//
//	JOBSSHD_INTEGRATION=1 go test -race -count=1 ./integration/
//
// Ports for listeners a test cannot open and hand over itself (a client's -L, a fixed
// -R) come from freePort, which reserves them below the kernel's ephemeral range; waits
// for a condition use internal/testwait.
package integration
