package sftpd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// dispatch answers one request. Only a failure to write a reply ends the session; a bad
// request gets an error status.
func (s *Server) dispatch(typ byte, r *reader) error {
	if typ == fxpInit {
		return s.handleInit(r)
	}
	id := r.uint32()
	if r.err != nil {
		return fmt.Errorf("sftp: request type %d without an id: bad message", typ)
	}
	var err error
	switch typ {
	case fxpOpen:
		return s.handleOpen(id, r)
	case fxpClose:
		return s.handleClose(id, r)
	case fxpRead:
		return s.handleRead(id, r)
	case fxpWrite:
		return s.handleWrite(id, r)
	case fxpStat, fxpLstat:
		path := r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		var fi fs.FileInfo
		if typ == fxpStat {
			fi, err = os.Stat(s.abs(path))
		} else {
			fi, err = os.Lstat(s.abs(path))
		}
		if err != nil {
			return s.sendError(id, err)
		}
		return s.sendAttrs(id, attrsOf(fi))
	case fxpFstat:
		h, err := s.lookupAny(r.bytes())
		if err != nil {
			return s.sendError(id, err)
		}
		fi, err := h.f.Stat()
		if err != nil {
			return s.sendError(id, err)
		}
		return s.sendAttrs(id, attrsOf(fi))
	case fxpSetstat:
		path, a := r.string(), r.attrs()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		err := setAttrs(s.abs(path), a, true)
		s.opts.event(Event{Name: EventSetstat, Path: s.abs(path), Err: errorText(err)})
		return s.sendError(id, err)
	case fxpFsetstat:
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
	case fxpOpendir:
		return s.handleOpendir(id, r)
	case fxpReaddir:
		return s.handleReaddir(id, r)
	case fxpRemove:
		path := r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		// unlink(2), not os.Remove: REMOVE must not delete a directory (RMDIR does).
		err := pathErr("remove", path, unix.Unlink(s.abs(path)))
		s.opts.event(Event{Name: EventRemove, Path: s.abs(path), Err: errorText(err)})
		return s.sendError(id, err)
	case fxpMkdir:
		path, a := r.string(), r.attrs()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		mode := uint32(0o777)
		if a.flags&attrPermissions != 0 {
			mode = a.perm & 0o7777
		}
		err := pathErr("mkdir", path, unix.Mkdir(s.abs(path), mode))
		s.opts.event(Event{Name: EventMkdir, Path: s.abs(path), Err: errorText(err)})
		return s.sendError(id, err)
	case fxpRmdir:
		path := r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		err := pathErr("rmdir", path, unix.Rmdir(s.abs(path)))
		s.opts.event(Event{Name: EventRmdir, Path: s.abs(path), Err: errorText(err)})
		return s.sendError(id, err)
	case fxpRealpath:
		path := r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		p, err := s.realPath(path)
		if err != nil {
			return s.sendError(id, err)
		}
		return s.sendName(id, p, fileAttrs{})
	case fxpRename:
		from, to := r.string(), r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		err := renameNoReplace(s.abs(from), s.abs(to))
		s.opts.event(Event{Name: EventRename, Path: s.abs(from), NewPath: s.abs(to), Err: errorText(err)})
		return s.sendError(id, err)
	case fxpReadlink:
		path := r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		target, err := os.Readlink(s.abs(path))
		if err != nil {
			return s.sendError(id, err)
		}
		return s.sendName(id, target, fileAttrs{})
	case fxpSymlink:
		// OpenSSH sends the target first and the link second, the reverse of the draft;
		// every client follows OpenSSH (sftp-server.c process_symlink).
		target, link := r.string(), r.string()
		if r.err != nil {
			return s.sendError(id, r.err)
		}
		err := os.Symlink(target, s.abs(link))
		s.opts.event(Event{Name: EventSymlink, Path: s.abs(link), Target: target, Err: errorText(err)})
		return s.sendError(id, err)
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
	if s.data == nil {
		s.data = make([]byte, maxReadWrite)
	}
	got, err := h.f.ReadAt(s.data[:n], int64(off))
	h.bytesRead += int64(got)
	if got == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return s.sendStatus(id, fxEOF, "EOF")
		}
		return s.sendError(id, err)
	}
	// DATA header then the bytes straight from the read buffer: no copy into a packet.
	s.w.start(fxpData, id)
	s.w.uint32(uint32(got))
	hdr := s.w.b
	putLength(hdr, len(hdr)-4+got)
	if err := s.send(hdr); err != nil {
		return err
	}
	return s.send(s.data[:got])
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

func (s *Server) handleOpendir(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	f, err := os.Open(s.abs(path))
	if err != nil {
		return s.sendError(id, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		if err == nil {
			err = pathErr("opendir", path, unix.ENOTDIR)
		}
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
		fi, err := e.Info() // lstat: a symlink shows as a link, as in OpenSSH
		if err != nil {
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

// renameNoReplace is SSH_FXP_RENAME: draft-02 says it fails when the target exists
// (posix-rename@openssh.com is the one that replaces).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// A filesystem without RENAME_NOREPLACE: check, then rename (racy, as OpenSSH's
		// fallback is).
		if _, serr := os.Lstat(to); serr == nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: unix.EEXIST}
		}
		return os.Rename(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// pathErr wraps a raw syscall error like package os does, so that errors.Is maps it.
func pathErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
