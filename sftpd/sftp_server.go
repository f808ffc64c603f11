package sftpd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Sizes, as OpenSSH's sftp-server has them (sftp-common.h SFTP_MAX_MSG_LENGTH), and as
// announced in limits@openssh.com so that OpenSSH ≥ 8.6 clients use 255 KiB requests
// instead of falling back to 32 KiB.
const (
	maxMessage     = 256 << 10         // largest request accepted
	maxReadWrite   = maxMessage - 1024 // largest READ answered / WRITE announced
	maxOpenHandles = 1024
	ioBufferSize   = 512 << 10 // request and reply buffering: several packets per syscall
)

// Server is one SFTP session. Its zero value is not usable; use NewServer.
type Server struct {
	in      *bufio.Reader
	out     *replyBuffer
	home    string // start directory: relative paths are resolved against it
	handles map[string]*handle
	next    uint64
	packet  []byte // the current request; reused
	w       writer
	names   idNames
	now     func() time.Time
	opts    Options
}

// NewServer returns a server that reads requests from in and writes replies to out,
// with relative paths resolved against home (the user's home, where OpenSSH's
// sftp-server starts too; scp in SFTP mode relies on it). opts holds the optional
// settings; its zero value sends no events.
func NewServer(in io.Reader, out io.Writer, home string, opts Options) *Server {
	return &Server{
		in:      bufio.NewReaderSize(in, ioBufferSize),
		out:     newReplyBuffer(out, ioBufferSize),
		home:    home,
		handles: map[string]*handle{},
		packet:  make([]byte, maxMessage),
		now:     time.Now,
		opts:    opts,
	}
}

// Serve answers requests until the client closes its end, then closes every handle
// still open. A clean end is nil (the caller reports exit status 0: scp checks it); a
// malformed stream is an error.
func (s *Server) Serve() error {
	defer s.closeAll()
	for {
		// Replies are buffered and written when no further request is already waiting,
		// so a pipelined client gets many replies per write.
		if s.in.Buffered() == 0 {
			if err := s.out.Flush(); err != nil {
				return fmt.Errorf("sftp: write reply: %w", err)
			}
		}
		var hdr [4]byte
		if _, err := io.ReadFull(s.in, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("sftp: read request: %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < 1 || n > maxMessage {
			return fmt.Errorf("sftp: request of %d bytes: bad message (at most %d)", n, maxMessage)
		}
		pkt := s.packet[:n]
		if _, err := io.ReadFull(s.in, pkt); err != nil {
			return fmt.Errorf("sftp: read request: %w", err)
		}
		if err := s.dispatch(pkt[0], &reader{b: pkt[1:]}); err != nil {
			return err
		}
	}
}

// send queues a finished reply.
func (s *Server) send(p []byte) error {
	if _, err := s.out.Write(p); err != nil {
		return fmt.Errorf("sftp: write reply: %w", err)
	}
	return nil
}

func (s *Server) sendStatus(id uint32, code uint32, msg string) error {
	s.w.start(fxpStatus, id)
	s.w.uint32(code)
	s.w.string(msg)
	s.w.string("")
	return s.send(s.w.finish())
}

// sendError maps an error to the status the client shows: "No such file",
// "Permission denied", or a failure with the system's reason ("no space left on
// device").
func (s *Server) sendError(id uint32, err error) error {
	if err == nil {
		return s.sendStatus(id, fxOK, "Success")
	}
	code := uint32(fxFailure)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		code = fxNoSuchFile
	case errors.Is(err, fs.ErrPermission):
		code = fxPermissionDenied
	case errors.Is(err, errUnsupported):
		code = fxOpUnsupported
	case errors.Is(err, errShortPacket):
		code = fxBadMessage
	}
	msg := err.Error()
	var pe *fs.PathError
	var le *os.LinkError
	var errno syscall.Errno
	if errors.As(err, &pe) || errors.As(err, &le) {
		if errors.As(err, &errno) {
			msg = errno.Error()
		}
	}
	return s.sendStatus(id, code, msg)
}

func (s *Server) sendHandle(id uint32, h string) error {
	s.w.start(fxpHandle, id)
	s.w.string(h)
	return s.send(s.w.finish())
}

func (s *Server) sendAttrs(id uint32, a fileAttrs) error {
	s.w.start(fxpAttrs, id)
	s.w.attrs(a)
	return s.send(s.w.finish())
}

// sendName answers with a single name (REALPATH, READLINK, expand-path).
func (s *Server) sendName(id uint32, name string, a fileAttrs) error {
	s.w.start(fxpName, id)
	s.w.uint32(1)
	s.w.string(name)
	s.w.string(name)
	s.w.attrs(a)
	return s.send(s.w.finish())
}

var errUnsupported = errors.New("operation unsupported")

// abs resolves a client path: relative to the start directory, "" meaning it.
func (s *Server) abs(p string) string {
	if p == "" {
		return s.home
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(s.home, p)
}

// realPath canonicalizes like OpenSSH (which uses a realpath that tolerates a missing
// last component): symlinks resolved, the final name kept when it does not exist yet,
// so that `scp -r` to a new directory and `put` to a new name work.
func (s *Server) realPath(p string) (string, error) {
	p = s.abs(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(p)), nil
}

// expandPath expands a leading "~" or "~/" to the home directory
// (expand-path@openssh.com); "~user" is only expanded for the served user.
func (s *Server) expandPath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = filepath.Join(s.home, strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/"))
	} else if strings.HasPrefix(p, "~") {
		return "", fmt.Errorf("expand %q: only ~ and ~/ are expanded here: %w", p, fs.ErrNotExist)
	}
	return s.realPath(p)
}
