package sftpd

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// The requests that name a path rather than a handle. Each acts on the path as the
// served user (the process has the user's credentials), relative paths being relative
// to the home directory (Server.abs).

func (s *Server) handleStat(id uint32, r *reader) error {
	return s.statPath(id, r, os.Stat)
}

func (s *Server) handleLstat(id uint32, r *reader) error {
	return s.statPath(id, r, os.Lstat)
}

// statPath answers STAT (which follows a final symlink) and LSTAT (which does not) with
// the attributes stat returns.
func (s *Server) statPath(id uint32, r *reader, stat func(string) (fs.FileInfo, error)) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	fi, err := stat(s.abs(path))
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendAttrs(id, attrsOf(fi))
}

func (s *Server) handleSetstat(id uint32, r *reader) error {
	path, a := r.string(), r.attrs()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := setAttrs(s.abs(path), a, true)
	s.opts.event(Event{Name: EventSetstat, Path: s.abs(path), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleRemove(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	// unlink(2), not os.Remove: REMOVE must not delete a directory (RMDIR does).
	err := pathErr("remove", path, unix.Unlink(s.abs(path)))
	s.opts.event(Event{Name: EventRemove, Path: s.abs(path), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleMkdir(id uint32, r *reader) error {
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
}

func (s *Server) handleRmdir(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := pathErr("rmdir", path, unix.Rmdir(s.abs(path)))
	s.opts.event(Event{Name: EventRmdir, Path: s.abs(path), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleRealpath(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	p, err := s.realPath(path)
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendName(id, p, fileAttrs{})
}

func (s *Server) handleRename(id uint32, r *reader) error {
	from, to := r.string(), r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := renameNoReplace(s.abs(from), s.abs(to))
	s.opts.event(Event{Name: EventRename, Path: s.abs(from), NewPath: s.abs(to), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleReadlink(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	target, err := os.Readlink(s.abs(path))
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendName(id, target, fileAttrs{})
}

func (s *Server) handleSymlink(id uint32, r *reader) error {
	// OpenSSH sends the target first and the link second, the reverse of the draft;
	// every client follows OpenSSH (sftp-server.c process_symlink).
	target, link := r.string(), r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := os.Symlink(target, s.abs(link))
	s.opts.event(Event{Name: EventSymlink, Path: s.abs(link), Target: target, Err: errorText(err)})
	return s.sendError(id, err)
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
