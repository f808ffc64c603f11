package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"jobsshd/agent"
	"jobsshd/sftpd"
)

// sftpServer is `jobsshd sftp-server`: SFTP on stdin/stdout as the current user, started
// in the user's home. The agent runs it for the sftp subsystem with the user's
// credentials; it also works as OpenSSH's `Subsystem sftp` command.
func sftpServer(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	home, err := homeDir(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd sftp-server: %v\n", err)
		return exitFailure
	}
	if err := sftpd.NewServer(stdin, stdout, home).Serve(); err != nil {
		fmt.Fprintf(stderr, "jobsshd sftp-server: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// scpServer is `jobsshd scp 'scp -t PATH'`: the legacy scp protocol on stdin/stdout as
// the current user, for the scp command line a client sent (one argument, as the client
// sent it). The agent runs it, with the user's credentials, for exec requests that are
// scp server invocations.
func scpServer(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "jobsshd scp: want one argument, the scp command line (e.g. 'scp -t /tmp'), got %d\n", len(args))
		return exitUsage
	}
	scpArgs, ok := sftpd.ParseSCPCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "jobsshd scp: %q is not an scp server command line (scp -t or scp -f)\n", args[0])
		return exitUsage
	}
	home, err := homeDir(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd scp: %v\n", err)
		return exitFailure
	}
	return sftpd.ServeSCP(scpArgs, home, stdin, stdout, stderr)
}

// homeDir is $HOME when it is an absolute path (the agent and sshd both set it), else
// the home of the account this process runs as.
func homeDir(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return h, nil
	}
	name, err := agent.LookupAccountByUID(os.Getuid())
	if err != nil {
		return "", err
	}
	acct, err := agent.LookupAccount(name)
	if err != nil {
		return "", err
	}
	return acct.Home, nil
}
