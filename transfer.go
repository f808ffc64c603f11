//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"jobsshd/internal/account"
	"jobsshd/internal/rawio"
	"jobsshd/sftpd"
)

// sftpServer is `jobsshd sftp-server [--log-fd N]`: SFTP on stdin/stdout as the current
// user, started in the user's home. The agent runs it for the sftp subsystem with the
// user's credentials, and reads one JSON line per file operation (sftpd.Event) from the
// log descriptor; it also works as OpenSSH's `Subsystem sftp` command, without one.
func sftpServer(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	logFile, args, ok := logFD("sftp-server", args, stderr)
	if !ok {
		return exitUsage
	}
	if logFile != nil && !prepareAgentRun("sftp-server", stderr) {
		return exitUsage
	}
	if len(args) != 0 {
		fmt.Fprintf(stderr, "jobsshd sftp-server: unexpected argument %q: it takes only --log-fd N\n", args[0])
		return exitUsage
	}
	var opts sftpd.Options
	if logFile != nil {
		defer logFile.Close()
		opts.Events = sftpd.NewJSONEventSink(logFile)
	}
	home, err := homeDir(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd sftp-server: %v\n", err)
		return exitFailure
	}
	stdin, stdout = rawio.Stdio(stdin, stdout) // the agent's pipes: pollable, raw calls (internal/rawio)
	defer rawio.CloseStdio(stdin, stdout)      // blocking again, for whoever shares them
	if err := sftpd.NewServer(stdin, stdout, home, opts).Serve(); err != nil {
		fmt.Fprintf(stderr, "jobsshd sftp-server: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// scpServer is `jobsshd scp [--log-fd N] 'scp -t PATH'`: the legacy scp protocol on
// stdin/stdout as the current user, for the scp command line a client sent (one
// argument, as the client sent it). The agent runs it, with the user's credentials, for
// exec requests that are scp server invocations, and reads from the log descriptor the
// errors it reports to the client (stdout and stderr belong to the client), one line
// each, and one JSON line per file operation (sftpd.Event). An error line never starts
// with '{'.
func scpServer(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var errLog io.Writer
	var opts sftpd.Options
	logFile, args, ok := logFD("scp", args, stderr)
	if !ok {
		return exitUsage
	}
	if logFile != nil && !prepareAgentRun("scp", stderr) {
		return exitUsage
	}
	if logFile != nil {
		defer logFile.Close()
		errLog, opts.Events = logFile, sftpd.NewJSONEventSink(logFile)
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "jobsshd scp: want one argument, the scp command line (e.g. 'scp -t /tmp'), got %d\n", len(args))
		return exitUsage
	}
	scpArgs, ok := sftpd.ParseSCPCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "jobsshd scp: %q is not an scp server command line (scp -t or scp -f)\n", args[0])
		return exitUsage
	}
	if errLog == nil && scpArgs.Verbose {
		errLog = stderr
	}
	// Relative paths are relative to the working directory, as with OpenSSH's scp: the
	// agent starts this in the user's home, a shell wherever it is.
	stdin, stdout = rawio.Stdio(stdin, stdout) // as for sftp-server
	defer rawio.CloseStdio(stdin, stdout)      // blocking again, for whoever shares them
	return sftpd.ServeSCP(scpArgs, "", stdin, stdout, errLog, opts)
}

// logFD takes a leading `--log-fd N` off a transfer command's arguments and opens
// descriptor N, which the agent passes for the command's log lines. Without the flag
// the file is nil. ok is false, and the error said on stderr, for a bad number. It only
// parses: what a program run by the agent does to itself is prepareAgentRun's.
func logFD(command string, args []string, stderr io.Writer) (log *os.File, rest []string, ok bool) {
	if len(args) < 2 || args[0] != "--log-fd" {
		return nil, args, true
	}
	fd, err := strconv.Atoi(args[1])
	if err != nil || fd < 3 {
		fmt.Fprintf(stderr, "jobsshd %s: --log-fd %q: want a descriptor number of 3 or more\n", command, args[1])
		return nil, args, false
	}
	return os.NewFile(uintptr(fd), command+"-log"), args[2:], true
}

// prepareAgentRun takes the process-wide steps of a transfer program that the agent runs
// (the agent, and only the agent, passes --log-fd; run by sshd as `Subsystem sftp` or
// from a shell, the program takes none): ignoreHangup, then makeNotDumpable. ok is
// false, and the error said on stderr, when a step fails.
func prepareAgentRun(command string, stderr io.Writer) (ok bool) {
	ignoreHangup()
	if err := makeNotDumpable(); err != nil {
		fmt.Fprintf(stderr, "jobsshd %s: make the process non-dumpable: %v\n", command, err)
		return false
	}
	return true
}

// ignoreHangup ignores SIGHUP. The agent hangs a session up with SIGHUP when its client
// leaves: the transfer ends anyway when its input does (the agent closes it too), and
// ending that way reports the files still open to the log before exiting.
func ignoreHangup() {
	signal.Ignore(syscall.SIGHUP)
}

// makeNotDumpable makes the process non-dumpable (as OpenSSH's sftp-server makes
// itself): the program runs as the user, and otherwise the user's other sessions could
// open its descriptors through /proc/PID/fd and write events into this connection's
// audit log, or hold its pipes open. The agent kills the program if it does not end soon
// after a hangup.
func makeNotDumpable() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// scpFromShell serves an scp server command that reached this binary through an "scp"
// link on a session's PATH, with its arguments already split by the user's shell:
// WinSCP's SCP mode types `scp -r -d -t -- "/dir/"` into a shell session instead of
// sending an exec request. Only the server side (-t, -f) is built in.
func scpFromShell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	command := scpCommandLine(args)
	if _, ok := sftpd.ParseSCPCommand(command); !ok {
		fmt.Fprintln(stderr, "scp: this container has only jobsshd's built-in scp, which serves transfers from clients (scp -t, scp -f); to copy from here, install an scp client (e.g. openssh-client)")
		return exitFailure
	}
	return scpServer([]string{command}, stdin, stdout, stderr)
}

// scpCommandLine rebuilds the command line of an scp invocation from its arguments,
// each single-quoted so that the parser takes it literally (the shell already expanded
// globs and ~).
func scpCommandLine(args []string) string {
	quoted := []string{"scp"}
	for _, a := range args {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(quoted, " ")
}

// homeDir is $HOME when it is an absolute path (the agent and sshd both set it), else
// the home of the account this process runs as.
func homeDir(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return h, nil
	}
	name, err := account.NameByUID(os.Getuid())
	if err != nil {
		return "", fmt.Errorf("%w: set HOME to the home directory", err)
	}
	acct, err := account.Lookup(name)
	if err != nil {
		return "", err
	}
	return acct.Home, nil
}
