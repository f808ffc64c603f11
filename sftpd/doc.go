// Package sftpd serves file transfer for jobsshd: an SFTP version 3 server
// (draft-ietf-secsh-filexfer-02, with the OpenSSH extensions clients rely on) and the
// legacy scp protocol. Both run in a child process that already has the served user's
// credentials (`jobsshd sftp-server`, `jobsshd scp`), never in the agent as root, so every
// file is opened, created and owned exactly as the user would.
//
// The SFTP server is written here rather than taken from github.com/pkg/sftp, whose
// server creates every file 0644 whatever the client asked (uploaded scripts lose +x),
// cannot be given limits@openssh.com (OpenSSH clients then fall back to 32 KiB
// requests), fsync@openssh.com, expand-path@openssh.com or home-directory without a fork,
// and reorders responses through worker goroutines. This one answers requests in order,
// like OpenSSH's sftp-server, batching replies into large writes.
package sftpd
