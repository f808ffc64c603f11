package agent

import (
	"fmt"
	"path/filepath"

	"jobsshd/sftpd"
)

// program is what a session runs, decided from its request.
type program struct {
	kind string // for the log: shell, exec, sftp, scp
	path string
	args []string
	// usesTerminal: a pty the client asked for is used. The file transfer programs
	// speak a binary protocol, which a terminal would mangle, so they never get one.
	usesTerminal bool
	// logsOnFD3: the program writes lines for the agent's log to descriptor 3 (its
	// stdout and stderr belong to the client): errors, and file events as JSON (see
	// logProgramLines).
	logsOnFD3 bool
}

// loginShellProgram is the account's login shell (a leading '-' in argv[0] makes it a
// login shell, as OpenSSH starts it). Only a "shell" request starts it: an exec
// request or a forced command, even an empty one, runs `shell -c COMMAND`.
func (s *Server) loginShellProgram() program {
	return program{kind: "shell", path: s.account.Shell, args: []string{"-" + filepath.Base(s.account.Shell)}, usesTerminal: true}
}

// shellProgram runs command as `shell -c command`, so that the user's shell syntax,
// PATH and rc files apply as with OpenSSH. An empty command is still `shell -c ""`,
// which exits at once: OpenSSH's session.c (do_child in openssh-portable) starts a
// login shell only for a NULL command, that is a "shell" request, never for an exec
// request's or a forced command's empty string. Treating "" as "interactive shell"
// here turned command="" in authorized_keys into a full login (issue 10, item 17).
func (s *Server) shellProgram(command string) program {
	return program{kind: "exec", path: s.account.Shell, args: []string{filepath.Base(s.account.Shell), "-c", command}, usesTerminal: true}
}

// subsystemProgram serves a "subsystem" request (RFC 4254 §6.5). SFTP is this binary's
// own `sftp-server` command, started directly (never through the user's shell, whose rc
// files may print and corrupt the protocol) with the user's credentials.
func (s *Server) subsystemProgram(name string) (program, error) {
	if name != "sftp" {
		return program{}, fmt.Errorf("subsystem %q is not supported (only sftp)", clip(name, logNameMax))
	}
	return program{kind: "sftp", path: s.selfExe, args: []string{"jobsshd", "sftp-server", "--log-fd", "3"}, logsOnFD3: true}, nil
}

// execProgram runs an exec request's command through the account's shell, except a
// legacy scp server invocation ("scp -t ...", "scp -f ..." from `scp -O`, `pscp -scp`,
// WinSCP's SCP mode), which this binary's own `scp` command serves as the user, so that
// scp works in images without an scp binary and whatever the user's rc files print.
func (s *Server) execProgram(command string) program {
	if _, ok := sftpd.ParseSCPCommand(command); ok {
		return program{kind: "scp", path: s.selfExe, args: []string{"jobsshd", "scp", "--log-fd", "3", command}, logsOnFD3: true}
	}
	return s.shellProgram(command)
}
