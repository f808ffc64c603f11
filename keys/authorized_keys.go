package keys

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// Bounds on what ParseAuthorizedKeys reads. OpenSSH has no line limit, but a line longer
// than 16 KiB is no key anyone uses: an RSA-16384 key with a long options list is under
// 4 KiB. 1 MiB holds thousands of keys.
const (
	maxAuthorizedKeysSize = 1 << 20
	maxAuthorizedKeyLine  = 16 << 10
)

var (
	errLineTooLong = fmt.Errorf("line longer than %d bytes", maxAuthorizedKeyLine)
	errFileTooLong = fmt.Errorf("file longer than %d bytes: this line and the rest are ignored", maxAuthorizedKeysSize)
	errNotAKey     = errors.New("not a public key (unknown key type, bad base64 or bad options)")
)

// AuthorizedKey is one usable line of an authorized_keys file.
type AuthorizedKey struct {
	Key     ssh.PublicKey
	Comment string
	// Options are the line's options as ssh.ParseAuthorizedKey returns them
	// (`from="1.2.3.4"`, `no-pty`, ...), uninterpreted.
	Options []string
	// Opts are the same options interpreted (ParseKeyOptions). Its slices may be
	// shared between copies, like Options: do not modify them.
	Opts KeyOptions
	// Source is where the line came from (a file path or another source name) and
	// Line its 1-based line number there, for log messages.
	Source string
	Line   int
}

// LineError is a rejected line of an authorized_keys source. Its message names the
// source and line number but never the line's content, which may be someone else's.
type LineError struct {
	Source string
	Line   int
	Err    error

	// named holds the public keys the rejected line names, and unread is whether its
	// content was never seen (too long, cut off, a read error); see MayName.
	named  []ssh.PublicKey
	unread bool
}

// Error returns "source:line: reason".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
}

// Unwrap returns the reason the line was rejected.
func (e *LineError) Unwrap() error { return e.Err }

// ParseAuthorizedKeys parses an authorized_keys file read from r, naming it source in
// the results. Blank lines and lines whose first non-blank character is '#' are
// skipped; "\n" and "\r\n" line endings are both accepted.
//
// A line that is not a key, or whose options ParseKeyOptions refuses, becomes a
// LineError and the other lines still count, as in OpenSSH. An options error names the
// option (an *OptionError), never the key. Input is bounded: a line longer than 16 KiB is a LineError, and at most
// 1 MiB is read; a line cut by that limit is a LineError too, never a key. A read
// error ends the input with a LineError on the line where it happened.
func ParseAuthorizedKeys(r io.Reader, source string) ([]AuthorizedKey, []*LineError) {
	var keys []AuthorizedKey
	var errs []*LineError
	lr := &io.LimitedReader{R: r, N: maxAuthorizedKeysSize + 1}
	br := bufio.NewReaderSize(lr, 4096)
	var line []byte
	for n := 1; ; n++ {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(br, line[:0])
		switch {
		case err == io.EOF && lr.N == 0:
			// The limit cut the input short at this line.
			errs = append(errs, &LineError{Source: source, Line: n, Err: errFileTooLong, unread: true})
			return keys, errs
		case err != nil && len(line) == 0 && !tooLong:
			if err != io.EOF {
				errs = append(errs, &LineError{Source: source, Line: n, Err: fmt.Errorf("read: %w", err), unread: true})
			}
			return keys, errs
		case tooLong:
			errs = append(errs, &LineError{Source: source, Line: n, Err: errLineTooLong, unread: true})
		default:
			if k, ok, lerr := parseAuthorizedKeyLine(line); lerr != nil {
				errs = append(errs, &LineError{Source: source, Line: n, Err: lerr, named: keysNamedIn(line)})
			} else if ok {
				k.Source, k.Line = source, n
				keys = append(keys, k)
			}
		}
		if err != nil {
			if err != io.EOF {
				errs = append(errs, &LineError{Source: source, Line: n, Err: fmt.Errorf("read: %w", err), unread: true})
			}
			return keys, errs
		}
	}
}

// readLine appends the next line of br to buf, without its "\n" or "\r\n". Past
// maxAuthorizedKeyLine bytes it stops keeping the line but still consumes it, and
// reports tooLong. err is io.EOF when the input ended at this line.
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxAuthorizedKeyLine+2 { // +2: room for "\r\n"
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if !tooLong && len(buf) > maxAuthorizedKeyLine {
			tooLong, buf = true, buf[:0]
		}
		return buf, tooLong, err
	}
}

// parseAuthorizedKeyLine parses one line; ok is false for blank and comment lines.
func parseAuthorizedKeyLine(line []byte) (k AuthorizedKey, ok bool, err error) {
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) == 0 || trimmed[0] == '#' {
		return AuthorizedKey{}, false, nil
	}
	// ssh.ParseAuthorizedKey scans past lines it cannot parse to the next one; it
	// only ever sees this single line, so a failure belongs to this line. Its
	// error is the uninformative "ssh: no key found" either way.
	pub, comment, options, _, err := ssh.ParseAuthorizedKey(trimmed)
	if err != nil {
		if namesDSAKey(trimmed) {
			return AuthorizedKey{}, false, errDSAKey // dsa_key_line.go
		}
		return AuthorizedKey{}, false, errNotAKey
	}
	opts, err := ParseKeyOptions(options)
	if err != nil {
		return AuthorizedKey{}, false, err
	}
	return AuthorizedKey{Key: pub, Comment: comment, Options: options, Opts: opts}, true, nil
}
