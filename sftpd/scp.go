package sftpd

// The legacy scp protocol (rcp's, carried over SSH), served for `scp -O`, PuTTY's
// `pscp -scp` and old clients, which run `scp -t PATH` (sink: the client uploads) or
// `scp -f PATH...` (source: the client downloads) as an exec request. There is no RFC;
// openssh-portable's scp.c (sink(), source(), rsource(), response(), run_err()) is the
// reference and this follows it, except where noted. Differences: a control line over
// 64 KiB is a fatal error (OpenSSH silently cuts it), fatal errors are sent as status 2
// (OpenSSH sends 1, then exits), and a C or D mode is masked to the permission bits.
//
// The sending side writes control lines, each answered by the receiving side with one
// status byte: 0 (ok), or 1 (warning) / 2 (fatal) followed by a message line.
//
//	T<mtime> 0 <atime> 0\n     times for the next C or D (sent with -p)
//	C<mode> <size> <name>\n    a file: mode is 4 octal digits, then size bytes of data
//	                           and a status byte from the sender
//	D<mode> 0 <name>\n         enter a directory (with -r)
//	E\n                        leave it
//
// The sink speaks first with a 0 byte; the source waits for it. A name is one path
// component: the sink refuses "/", "." and ".." in it, since a malicious client could
// otherwise write outside the target (OpenSSH: "error: unexpected filename").

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// SCPArgs is a parsed `scp -t` / `scp -f` command line (see ParseSCPCommand). Exactly one
// of Sink and Source is set for ServeSCP to serve it.
type SCPArgs struct {
	Sink          bool // -t: receive files into Paths[0]
	Source        bool // -f: send Paths
	Recursive     bool // -r: directories are copied with their contents
	PreserveTimes bool // -p: modes, modification and access times are kept
	TargetIsDir   bool // -d: the sink target must be an existing directory
	Verbose       bool // -v: also log protocol lines to ServeSCP's errOut
	// Paths are the operands with the shell's quoting removed. A leading unquoted "~"
	// (the home directory) is written "." so that it resolves against home like any
	// relative path.
	Paths []string
	// Patterns is nil unless an operand held unquoted glob characters (* ? [), which a
	// shell would have expanded. Then Patterns[i], when not "", is Paths[i] as a
	// path.Match pattern (quoted characters escaped with '\'); ServeSCP expands it
	// against the file system like the shell, falling back to Paths[i] when nothing
	// matches.
	Patterns []string
}

// Sizes. The copy buffer bounds memory per transfer whatever the file size; the line
// limit bounds what a client can make us hold for one control line.
const (
	scpCopyBuffer = 256 << 10
	scpMaxLine    = 64 << 10
)

// errSCPPeerGone means the client's stream ended or broke: nothing more can be said to
// it, and the transfer fails (OpenSSH's lostconn()).
var errSCPPeerGone = errors.New("lost connection")

// scpFatal is an error the client reported as fatal (status byte 2): we stop without
// answering it.
type scpFatal struct{ msg string }

func (e *scpFatal) Error() string { return "client: " + e.msg }

// scpSession is one ServeSCP run.
type scpSession struct {
	args   SCPArgs
	home   string
	in     *bufio.Reader
	out    io.Writer
	errOut io.Writer
	buf    []byte // file data, scpCopyBuffer bytes; reused for every file
	errs   int    // warnings sent or received: they make the exit status 1
	opts   Options
}

// ServeSCP speaks the scp protocol on in/out as the current process's user, with
// relative paths resolved against home (the empty string means the working directory).
// It returns the exit status to report: 0 when everything was copied, 1 when anything
// failed (like OpenSSH's scp: a missing source file is reported to the client and the
// rest are still sent, then the status is 1). Errors go to the client in the protocol,
// which prints them; errOut gets each of them too, one line per error, for the agent's
// log (plus the protocol lines with -v). It may be nil. opts.Events, if set, receives an
// EventOpen and an EventClose for every file sent or received, and an EventMkdir for
// every directory created; the zero Options sends no events.
//
// The caller runs it with the user's credentials (a child process already switched to
// the user): it opens and creates whatever the user can. With -d the sink target must be
// an existing directory; without it, a target that is an existing directory still
// receives files inside it, and anything else is the file (or, with -r, the directory)
// to create.
func ServeSCP(args SCPArgs, home string, in io.Reader, out io.Writer, errOut io.Writer, opts Options) int {
	s := &scpSession{
		opts:   opts,
		args:   args,
		home:   home,
		in:     bufio.NewReaderSize(in, scpMaxLine),
		out:    out,
		errOut: errOut,
	}
	if errOut == nil {
		s.errOut = io.Discard
	}
	var err error
	switch {
	case args.Sink && !args.Source:
		err = s.sink()
	case args.Source && !args.Sink:
		err = s.source()
	default:
		err = errors.New("exactly one of -t and -f is required")
	}
	var fatal *scpFatal
	switch {
	case errors.Is(err, errSCPPeerGone), errors.As(err, &fatal):
		fmt.Fprintf(s.errOut, "scp: %v\n", err)
		return 1
	case err != nil:
		// Best effort: the client may already be gone, and we fail either way.
		msg := strings.ReplaceAll(err.Error(), "\n", "\\n")
		fmt.Fprintf(s.errOut, "scp: %s\n", msg)
		_, _ = io.WriteString(s.out, "\x02scp: "+msg+"\n")
		return 1
	case s.errs > 0:
		return 1
	}
	return 0
}

// abs resolves a path as the client named it against home.
func (s *scpSession) abs(p string) string {
	if s.home == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return s.home + "/" + p
}

// eventPath is path made absolute for an event: relative paths resolve against home,
// or the working directory when home is "".
func (s *scpSession) eventPath(path string) string {
	if abs, err := filepath.Abs(s.abs(path)); err == nil {
		return abs
	}
	return s.abs(path)
}

// send writes a protocol line or status. A failed write means the client is gone.
func (s *scpSession) send(b string) error {
	if _, err := io.WriteString(s.out, b); err != nil {
		return fmt.Errorf("%w: write: %v", errSCPPeerGone, err)
	}
	return nil
}

// write is send for file data.
func (s *scpSession) write(p []byte) error {
	if _, err := s.out.Write(p); err != nil {
		return fmt.Errorf("%w: write: %v", errSCPPeerGone, err)
	}
	return nil
}

// ack is the 0 status byte.
func (s *scpSession) ack() error { return s.send("\x00") }

// warn reports a failure that does not stop the transfer (OpenSSH run_err()) and makes
// the exit status 1. The message must not contain '\n', which ends it on the wire.
func (s *scpSession) warn(format string, a ...any) error {
	s.errs++
	msg := strings.ReplaceAll(fmt.Sprintf(format, a...), "\n", "\\n")
	fmt.Fprintf(s.errOut, "scp: %s\n", msg)
	return s.send("\x01scp: " + msg + "\n")
}

// logf writes a -v log line.
func (s *scpSession) logf(format string, a ...any) {
	if s.args.Verbose {
		fmt.Fprintf(s.errOut, format+"\n", a...)
	}
}

// readLine returns the next line without its '\n'. It returns io.EOF only when the
// stream ends cleanly before a line starts; a line cut short is errSCPPeerGone.
func (s *scpSession) readLine() (string, error) {
	line, err := s.in.ReadSlice('\n')
	switch {
	case err == nil:
		return string(line[:len(line)-1]), nil
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("protocol error: line longer than %d bytes", scpMaxLine)
	case errors.Is(err, io.EOF) && len(line) == 0:
		return "", io.EOF
	default:
		return "", fmt.Errorf("%w: read: %v", errSCPPeerGone, err)
	}
}

// response reads the client's status byte (OpenSSH response()). ok is false when the
// client sent a warning, which it also printed: the current file is skipped. A fatal
// status, or any byte other than 0, 1 and 2 (OpenSSH takes it as the start of a
// message), ends the session.
func (s *scpSession) response() (ok bool, err error) {
	b, err := s.in.ReadByte()
	if err != nil {
		return false, fmt.Errorf("%w: read: %v", errSCPPeerGone, err)
	}
	if b == 0 {
		return true, nil
	}
	msg, err := s.readLine()
	if errors.Is(err, io.EOF) {
		err = errSCPPeerGone
	}
	if err != nil {
		return false, err
	}
	if b != 1 && b != 2 {
		msg = string(b) + msg
	}
	s.errs++
	if b == 1 {
		s.logf("client: %s", msg)
		return false, nil
	}
	return false, &scpFatal{msg: msg}
}

// errnoText is how OpenSSH's scp words an error, strerror(3) style ("No such file or
// directory"), so that users see the messages they know.
func errnoText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	text := errno.Error()
	r, size := utf8.DecodeRuneInString(text)
	return string(unicode.ToUpper(r)) + text[size:]
}
