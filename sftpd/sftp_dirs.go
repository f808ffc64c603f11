package sftpd

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The directory requests: OPENDIR, then READDIR until EOF, then CLOSE.

func (s *Server) handleOpendir(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	f, err := os.Open(s.abs(path))
	if err != nil {
		return s.sendError(id, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.IsDir() {
		err = pathErr("opendir", path, unix.ENOTDIR)
	}
	if err != nil {
		f.Close()
		return s.sendError(id, err)
	}
	h, err := s.addHandle(&handle{f: f, path: f.Name(), dir: true})
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendHandle(id, h)
}

// readdirBatch is how many entries one NAME reply carries, as OpenSSH's sftp-server
// sends (it stops at 100).
const readdirBatch = 100

func (s *Server) handleReaddir(id uint32, r *reader) error {
	h, err := s.lookup(r.bytes(), true)
	if err != nil {
		return s.sendError(id, err)
	}
	entries, err := h.f.ReadDir(readdirBatch)
	if len(entries) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return s.sendStatus(id, fxEOF, "EOF")
		}
		return s.sendError(id, err)
	}
	s.w.start(fxpName, id)
	countAt := len(s.w.b)
	s.w.uint32(0)
	count := uint32(0)
	now := s.now()
	for _, e := range entries {
		fi, infoErr := e.Info() // lstat: a symlink shows as a link, as in OpenSSH
		if infoErr != nil {
			continue // removed since it was listed
		}
		a := attrsOf(fi)
		s.w.string(e.Name())
		s.w.string(longName(e.Name(), a, &s.names, now))
		s.w.attrs(a)
		count++
	}
	putUint32(s.w.b[countAt:], count)
	return s.send(s.w.finish())
}
