// Package sftpd serves file transfer for jobsshd: an SFTP version 3 server
// (draft-ietf-secsh-filexfer-02, with the OpenSSH extensions clients rely on) and the
// legacy scp protocol. Both run in a child process that already has the served user's
// credentials (`jobsshd sftp-server`, `jobsshd scp`), never in the agent as root, so every
// file is opened, created and owned exactly as the user would.
//
// The SFTP server is written here rather than taken from github.com/pkg/sftp. Not for
// file modes or ordering: pkg/sftp v1.13.12's server applies the permissions a client
// sends in SSH_FXP_OPEN when it creates a file, as this one does (server.go,
// sshFxpOpenPacket.respond), and it returns responses in request order
// (packet-manager.go), while it executes READ and WRITE requests concurrently on eight
// worker goroutines and everything else on one. The reasons are:
//
//   - Extensions. pkg/sftp's server serves posix-rename@openssh.com,
//     statvfs@openssh.com and hardlink@openssh.com, and SetSFTPExtensions can only
//     choose among those (sftp.go, supportedSFTPExtensions). This one also serves
//     limits@openssh.com (without it OpenSSH clients fall back to 32 KiB requests),
//     fstatvfs@openssh.com, fsync@openssh.com, lsetstat@openssh.com,
//     expand-path@openssh.com and home-directory (sftp_extensions.go). Adding them to
//     pkg/sftp would take a fork.
//   - Cost. It answers requests in order on one goroutine, like OpenSSH's sftp-server,
//     batching replies into large writes. Under one OpenSSH sshd on loopback
//     (bench/sftp-subsystems.sh; BENCHMARKS.md, "the SFTP servers side by side") the
//     transfer rates of the three servers overlap within the noise, sshd's cipher
//     setting the pace, while pkg/sftp's server used 1.5 to 2 times the CPU time of
//     this one per file, and this one about as much as OpenSSH's.
//   - File events. Every file operation is reported as an Event for the agent's log
//     (events.go); sftp.NewServer has no hook for that (WithDebug is a packet trace).
package sftpd
