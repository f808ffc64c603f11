package sftpd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"jobsshd/internal/rawio"
)

// dispatch answers one request by handing it to the handler of its type, one per
// SSH_FXP_ request (draft-ietf-secsh-filexfer-02 §3). Only a failure to write a reply ends
// the session; a bad request gets an error status.
func (s *Server) dispatch(typ byte, r *reader) error {
	if typ == fxpInit {
		return s.handleInit(r)
	}
	id := r.uint32()
	if r.err != nil {
		return fmt.Errorf("sftp: request type %d without an id: bad message", typ)
	}
	switch typ {
	case fxpOpen:
		return s.handleOpen(id, r)
	case fxpClose:
		return s.handleClose(id, r)
	case fxpRead:
		return s.handleRead(id, r)
	case fxpWrite:
		return s.handleWrite(id, r)
	case fxpLstat:
		return s.handleLstat(id, r)
	case fxpFstat:
		return s.handleFstat(id, r)
	case fxpSetstat:
		return s.handleSetstat(id, r)
	case fxpFsetstat:
		return s.handleFsetstat(id, r)
	case fxpOpendir:
		return s.handleOpendir(id, r)
	case fxpReaddir:
		return s.handleReaddir(id, r)
	case fxpRemove:
		return s.handleRemove(id, r)
	case fxpMkdir:
		return s.handleMkdir(id, r)
	case fxpRmdir:
		return s.handleRmdir(id, r)
	case fxpRealpath:
		return s.handleRealpath(id, r)
	case fxpStat:
		return s.handleStat(id, r)
	case fxpRename:
		return s.handleRename(id, r)
	case fxpReadlink:
		return s.handleReadlink(id, r)
	case fxpSymlink:
		return s.handleSymlink(id, r)
	case fxpExtended:
		return s.handleExtended(id, r)
	default:
		return s.sendStatus(id, fxOpUnsupported, fmt.Sprintf("request type %d is not supported", typ))
	}
}

func (s *Server) handleInit(r *reader) error {
	r.uint32() // the client's version: we speak 3, which every client accepts
	s.w.start(fxpVersion, 3)
	for _, ext := range extensions {
		s.w.string(ext.name)
		s.w.string(ext.version)
	}
	return s.send(s.w.finish())
}

func (s *Server) lookupAny(name []byte) (*handle, error) {
	if h, err := s.lookup(name, false); err == nil {
		return h, nil
	}
	return s.lookup(name, true)
}

func (s *Server) handleOpen(id uint32, r *reader) error {
	path, pflags, a := r.string(), r.uint32(), r.attrs()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	flags := unix.O_CLOEXEC
	switch {
	case pflags&fxfRead != 0 && pflags&fxfWrite != 0:
		flags |= os.O_RDWR
	case pflags&fxfWrite != 0:
		flags |= os.O_WRONLY
	default:
		flags |= os.O_RDONLY
	}
	if pflags&fxfAppend != 0 {
		flags |= os.O_APPEND
	}
	if pflags&fxfCreat != 0 {
		flags |= os.O_CREATE
	}
	if pflags&fxfTrunc != 0 {
		flags |= os.O_TRUNC
	}
	if pflags&fxfExcl != 0 {
		flags |= os.O_EXCL
	}
	// The client's permission bits are honoured on create (through the umask, as
	// open(2) and OpenSSH do), so an uploaded script stays executable.
	mode := fs.FileMode(0o666)
	if a.flags&attrPermissions != 0 {
		mode = fs.FileMode(a.perm & 0o777)
	}
	f, err := os.OpenFile(s.abs(path), flags, mode)
	if err == nil {
		var h string
		if h, err = s.addHandle(&handle{f: f, path: f.Name(), append: pflags&fxfAppend != 0, mode: openMode(flags)}); err == nil {
			s.opts.event(Event{Name: EventOpen, Path: s.abs(path), Mode: openMode(flags)})
			return s.sendHandle(id, h)
		}
	}
	s.opts.event(Event{Name: EventOpen, Path: s.abs(path), Mode: openMode(flags), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleClose(id uint32, r *reader) error {
	name := r.bytes()
	h, err := s.lookupAny(name)
	if err != nil {
		return s.sendError(id, err)
	}
	delete(s.handles, string(name))
	// A write error can surface only at close (NFS, quota): report it.
	err = h.f.Close()
	s.closeEvent(h, err)
	return s.sendError(id, err)
}

func (s *Server) handleRead(id uint32, r *reader) error {
	name, off, n := r.bytes(), r.uint64(), r.uint32()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	h, err := s.lookup(name, false)
	if err != nil {
		return s.sendError(id, err)
	}
	if n > maxReadWrite {
		n = maxReadWrite
	}
	// The DATA reply's room is taken in the reply buffer and the file read straight
	// into it: no copy from a read buffer into the reply.
	s.w.start(fxpData, id)
	s.w.uint32(0) // the data's length, once known
	hdr := len(s.w.b)
	pkt, err := s.out.reserve(hdr + int(n))
	if err != nil {
		return fmt.Errorf("sftp: write reply: %w", err)
	}
	// From the page cache without the scheduler's bookkeeping when it can (rawio.ReadAt).
	got, err := rawio.ReadAt(h.f, pkt[hdr:], int64(off))
	h.bytesRead += int64(got)
	s.out.unreserve(int(n) - got)
	if got == 0 {
		s.out.unreserve(hdr)
		if err == nil || errors.Is(err, io.EOF) {
			return s.sendStatus(id, fxEOF, "EOF")
		}
		return s.sendError(id, err)
	}
	copy(pkt, s.w.b)
	putLength(pkt, hdr-4+got)
	putUint32(pkt[hdr-4:], uint32(got))
	return nil
}

func (s *Server) handleWrite(id uint32, r *reader) error {
	name, off, data := r.bytes(), r.uint64(), r.bytes()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	h, err := s.lookup(name, false)
	if err != nil {
		return s.sendError(id, err)
	}
	var n int
	if h.append {
		n, err = h.f.Write(data)
	} else {
		n, err = h.f.WriteAt(data, int64(off))
	}
	h.bytesWritten += int64(n)
	return s.sendError(id, err)
}

func (s *Server) handleFstat(id uint32, r *reader) error {
	h, err := s.lookupAny(r.bytes())
	if err != nil {
		return s.sendError(id, err)
	}
	fi, err := h.f.Stat()
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendAttrs(id, attrsOf(fi))
}

func (s *Server) handleFsetstat(id uint32, r *reader) error {
	name, a := r.bytes(), r.attrs()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	h, err := s.lookupAny(name)
	if err != nil {
		return s.sendError(id, err)
	}
	err = setFileAttrs(h.f, a)
	s.opts.event(Event{Name: EventSetstat, Path: h.path, Err: errorText(err)})
	return s.sendError(id, err)
}
