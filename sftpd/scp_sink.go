package sftpd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scpTimes is a T line: what the next C or D gets with utimes(2).
type scpTimes struct{ mtime, atime time.Time }

// scpDir is a directory the sink is writing into: the target, or one a D line entered.
type scpDir struct {
	path  string // as the client named it: relative paths resolve against home
	isDir bool   // false only for a target that is not (yet) a directory
	// What E applies, as OpenSSH does once the contents are written (writing them
	// changes the directory's mtime).
	times     *scpTimes
	mode      fs.FileMode
	restrict  bool // created with u+rwx forced so it could be filled: drop what mode lacks
	exactMode bool // -p: set mode exactly
}

// scpHeader is a parsed C or D line.
type scpHeader struct {
	dir  bool
	mode fs.FileMode
	size int64
	name string
}

// scpSink is what sink() keeps between records: the directories entered, the target
// first, and the times a T line gave for the next C or D.
type scpSink struct {
	stack []scpDir
	times *scpTimes
}

// sink receives files into the one target path (OpenSSH sink()), one record at a time
// until the client ends the stream or sends the E that closes the target.
func (s *scpSession) sink() error {
	target, err := s.sinkTarget()
	if err == nil {
		err = s.ack()
	}
	k := &scpSink{stack: []scpDir{target}}
	done := false
	for !done && err == nil {
		done, err = s.sinkRecord(k)
	}
	return err
}

// sinkTarget checks the one operand the client gave: it must be a directory with -d
// (the client sends several files), and names the file itself otherwise.
func (s *scpSession) sinkTarget() (scpDir, error) {
	targets, err := s.operands()
	if err != nil {
		return scpDir{}, err
	}
	if len(targets) != 1 {
		return scpDir{}, errors.New("ambiguous target")
	}
	target := targets[0]
	fi, statErr := os.Stat(s.abs(target))
	isDir := statErr == nil && fi.IsDir()
	if s.args.TargetIsDir && !isDir {
		if statErr == nil {
			statErr = syscall.ENOTDIR
		}
		return scpDir{}, fmt.Errorf("%s: %s", target, errnoText(statErr))
	}
	return scpDir{path: target, isDir: isDir}, nil
}

// sinkRecord reads one record and hands it to the handler of its type. done is true
// when the session ends without an error: the client closed the stream between
// records, or sent the final E.
func (s *scpSession) sinkRecord(k *scpSink) (done bool, err error) {
	line, err := s.readLine()
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	s.logf("Sink: %s", line)
	if line == "" {
		return false, errors.New("protocol error: expected control record")
	}
	switch line[0] {
	case 1, 2:
		return false, s.sinkClientError(line)
	case 'E':
		return s.sinkEnd(k, line)
	case 'T':
		return false, s.sinkTimes(k, line)
	case 'C', 'D':
		return false, s.sinkEntry(k, line)
	default:
		return false, errors.New("protocol error: expected control record")
	}
}

// sinkClientError handles a line that starts with 1 (warning) or 2 (fatal error): the
// client could not send something and printed why; it carries on after a warning and
// stops after a fatal error.
func (s *scpSession) sinkClientError(line string) error {
	s.errs++
	if line[0] == 2 {
		return &scpFatal{msg: line[1:]}
	}
	return nil
}

// sinkEnd handles an E line: it leaves the directory the last D entered, or, for the
// target itself, ends the session as OpenSSH's top-level sink() does.
func (s *scpSession) sinkEnd(k *scpSink, line string) (done bool, err error) {
	if line != "E" {
		return false, errors.New("protocol error: malformed E record")
	}
	if len(k.stack) == 1 {
		return true, s.ack()
	}
	dir := k.stack[len(k.stack)-1]
	k.stack = k.stack[:len(k.stack)-1]
	return false, s.finishDir(dir)
}

// sinkTimes handles a T line: the times apply to the next C or D.
func (s *scpSession) sinkTimes(k *scpSink, line string) error {
	t, err := parseSCPTimes(line)
	if err != nil {
		return err
	}
	k.times = t
	return s.ack()
}

// sinkEntry handles a C (file) or D (directory) line, named inside the directory
// entered last, or the target itself when that is not a directory.
func (s *scpSession) sinkEntry(k *scpSink, line string) error {
	h, err := parseSCPHeader(line)
	if err != nil {
		return err
	}
	if h.dir && !s.args.Recursive {
		return errors.New("protocol error: received directory without -r")
	}
	cur := k.stack[len(k.stack)-1]
	path := cur.path
	if cur.isDir {
		path = joinSCPPath(cur.path, h.name)
	}
	t := k.times
	k.times = nil
	if !h.dir {
		return s.receiveFile(path, h, t)
	}
	dir, entered, err := s.enterDir(path, h, t)
	if err != nil {
		return err
	}
	if entered {
		k.stack = append(k.stack, dir)
	}
	return nil
}

// joinSCPPath appends a received name to a directory path as OpenSSH does, without
// cleaning it (the kernel resolves it, symlinks and all, as for any user's path).
func joinSCPPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// enterDir handles a D line: the directory is created (or an existing one reused) and
// becomes where names resolve until its E. A failure is a warning: the client then
// skips the directory, sending nothing of it.
func (s *scpSession) enterDir(path string, h scpHeader, t *scpTimes) (scpDir, bool, error) {
	dir := scpDir{path: path, isDir: true, times: t, mode: h.mode, exactMode: s.args.PreserveTimes}
	abs := s.abs(path)
	fi, err := os.Stat(abs)
	switch {
	case err == nil && !fi.IsDir():
		return dir, false, s.warn("%s: %s", path, errnoText(syscall.ENOTDIR))
	case err == nil:
		if s.args.PreserveTimes {
			if err := os.Chmod(abs, h.mode); err != nil {
				return dir, false, s.warn("%s: set mode: %s", path, errnoText(err))
			}
		}
		dir.exactMode = false // an existing directory keeps its mode without -p
	default:
		// u+rwx so that the contents can be written whatever mode was asked for;
		// finishDir takes away what the mode lacks.
		err := os.Mkdir(abs, h.mode|0o700)
		s.opts.event(Event{Name: EventMkdir, Path: s.eventPath(path), Err: errorText(err)})
		if err != nil {
			return dir, false, s.warn("%s: %s", path, errnoText(err))
		}
		dir.restrict = h.mode&0o700 != 0o700
	}
	return dir, true, s.ack()
}

// finishDir handles the E that leaves dir: its mode and times are set now that its
// contents are written.
func (s *scpSession) finishDir(dir scpDir) error {
	abs := s.abs(dir.path)
	var failure error
	switch {
	case dir.exactMode:
		if err := os.Chmod(abs, dir.mode); err != nil {
			failure = fmt.Errorf("%s: set mode: %s", dir.path, errnoText(err))
		}
	case dir.restrict:
		// Without -p the umask applied at mkdir stays; only the forced user bits go.
		fi, err := os.Stat(abs)
		if err == nil {
			err = os.Chmod(abs, fi.Mode().Perm()&^(0o700&^dir.mode))
		}
		if err != nil {
			failure = fmt.Errorf("%s: set mode: %s", dir.path, errnoText(err))
		}
	}
	if dir.times != nil && failure == nil {
		if err := os.Chtimes(abs, dir.times.atime, dir.times.mtime); err != nil {
			failure = fmt.Errorf("%s: set times: %s", dir.path, errnoText(err))
		}
	}
	if failure != nil {
		return s.warn("%s", failure)
	}
	return s.ack()
}

// receiveFile handles a C line: the data goes into path, created with the mode the
// client sent (the umask applies, unless -p) or, when it exists, overwritten and
// truncated to the new size.
func (s *scpSession) receiveFile(path string, h scpHeader, t *scpTimes) error {
	abs := s.abs(path)
	// No O_TRUNC: like OpenSSH, truncate afterwards and only regular files, so that a
	// target such as /dev/null works.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE, h.mode)
	event := Event{Name: EventOpen, Path: s.eventPath(path), Mode: "write", Err: errorText(err)}
	s.opts.event(event)
	if err != nil {
		// The client skips the data after a warning.
		return s.warn("%s: %s", path, errnoText(err))
	}
	event.Name = EventClose
	if err = s.ack(); err != nil {
		f.Close() // the client is gone; that is what we report
		event.Err = err.Error()
		s.opts.event(event)
		return err
	}
	// A write error (ENOSPC) does not stop the reading: the data must be consumed to
	// stay in step with the client, as OpenSSH's wrerr does.
	writeErr, err := s.copyIn(f, h.size, &event.BytesWritten)
	if err != nil {
		f.Close() // a partial file stays, as OpenSSH leaves it
		event.Err = err.Error()
		s.opts.event(event)
		return err
	}
	failure := writeErr
	if failure == nil {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			failure = f.Truncate(h.size)
		}
	}
	if failure == nil && s.args.PreserveTimes {
		if err := f.Chmod(h.mode); err != nil {
			failure = fmt.Errorf("set mode: %w", err)
		}
	}
	if err := f.Close(); err != nil && failure == nil {
		failure = err
	}
	event.Err = errorText(failure)
	s.opts.event(event)
	// The client's status byte for its data: a warning means it could not read all of
	// its file, which it reports itself.
	if _, err := s.response(); err != nil {
		return err
	}
	if t != nil && failure == nil {
		if err := os.Chtimes(abs, t.atime, t.mtime); err != nil {
			failure = fmt.Errorf("set times: %w", err)
		}
	}
	if failure != nil {
		return s.warn("%s: %s", path, errnoText(failure))
	}
	return s.ack()
}

// copyIn reads exactly size bytes of file data from the client into f through the
// fixed buffer, adding what reached f to *written. After a write error it keeps reading
// and discarding: writeErr is that error. err is set only when the client's stream ends
// early.
func (s *scpSession) copyIn(f io.Writer, size int64, written *int64) (writeErr, err error) {
	if s.buf == nil {
		s.buf = make([]byte, scpCopyBuffer)
	}
	for size > 0 {
		n := int64(len(s.buf))
		if size < n {
			n = size
		}
		got, rerr := io.ReadFull(s.in, s.buf[:n])
		if got > 0 && writeErr == nil {
			n, werr := f.Write(s.buf[:got])
			*written += int64(n)
			if werr != nil {
				writeErr = werr
			}
		}
		size -= int64(got)
		if rerr != nil {
			return writeErr, fmt.Errorf("%w: read file data: %v", errSCPPeerGone, rerr)
		}
	}
	return writeErr, nil
}

// parseSCPHeader parses a C or D line as OpenSSH's sink() does: exactly four octal mode
// digits, a space, a decimal size, a space, and a name that is a single path component.
// The mode is masked to the permission bits: no setuid, setgid or sticky from a client.
func parseSCPHeader(line string) (scpHeader, error) {
	h := scpHeader{dir: line[0] == 'D'}
	rest := line[1:]
	if len(rest) < 5 {
		return h, errors.New("protocol error: bad mode")
	}
	for i := 0; i < 4; i++ {
		c := rest[i]
		if c < '0' || c > '7' {
			return h, errors.New("protocol error: bad mode")
		}
		h.mode = h.mode<<3 | fs.FileMode(c-'0')
	}
	h.mode &= 0o777
	if rest[4] != ' ' {
		return h, errors.New("protocol error: mode not delimited")
	}
	rest = rest[5:]
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return h, errors.New("protocol error: size not present")
	}
	if digits == len(rest) || rest[digits] != ' ' {
		return h, errors.New("protocol error: size not delimited")
	}
	size, err := strconv.ParseInt(rest[:digits], 10, 64)
	if err != nil {
		return h, errors.New("protocol error: size out of range")
	}
	h.size = size
	h.name = rest[digits+1:]
	if h.name == "" || h.name == "." || h.name == ".." || strings.ContainsAny(h.name, "/\x00") {
		return h, fmt.Errorf("error: unexpected filename: %q", h.name)
	}
	return h, nil
}

// parseSCPTimes parses "T<mtime> <usec> <atime> <usec>" (OpenSSH's sink()). Like
// OpenSSH, a time too large for the system is ignored rather than refused.
func parseSCPTimes(line string) (*scpTimes, error) {
	fields := strings.Split(line[1:], " ")
	if len(fields) != 4 {
		return nil, errors.New("protocol error: malformed T record")
	}
	var v [4]int64
	inRange := true
	for i, f := range fields {
		if f == "" || strings.Trim(f, "0123456789") != "" {
			return nil, fmt.Errorf("protocol error: malformed T record")
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			if i%2 == 1 {
				return nil, errors.New("protocol error: microseconds out of range")
			}
			inRange = false
			continue
		}
		v[i] = n
	}
	if v[1] > 999999 || v[3] > 999999 {
		return nil, errors.New("protocol error: microseconds out of range")
	}
	if !inRange {
		return nil, nil
	}
	return &scpTimes{
		mtime: time.Unix(v[0], v[1]*1000),
		atime: time.Unix(v[2], v[3]*1000),
	}, nil
}
