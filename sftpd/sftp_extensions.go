package sftpd

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// extensions are announced in VERSION, as OpenSSH's sftp-server names them
// (PROTOCOL in openssh-portable describes each).
var extensions = []struct{ name, version string }{
	{"posix-rename@openssh.com", "1"},
	{"statvfs@openssh.com", "2"},
	{"fstatvfs@openssh.com", "2"},
	{"hardlink@openssh.com", "1"},
	{"fsync@openssh.com", "1"},
	{"lsetstat@openssh.com", "1"},
	{"limits@openssh.com", "1"},
	{"expand-path@openssh.com", "1"},
	{"home-directory", "1"},
}

// handleExtended answers SSH_FXP_EXTENDED by handing it to the handler of the named
// extension, one per extension announced in VERSION.
func (s *Server) handleExtended(id uint32, r *reader) error {
	name := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	switch name {
	case "posix-rename@openssh.com":
		return s.handlePosixRename(id, r)
	case "hardlink@openssh.com":
		return s.handleHardlink(id, r)
	case "statvfs@openssh.com":
		return s.handleStatVFS(id, r)
	case "fstatvfs@openssh.com":
		return s.handleFstatVFS(id, r)
	case "fsync@openssh.com":
		return s.handleFsync(id, r)
	case "lsetstat@openssh.com":
		return s.handleLsetstat(id, r)
	case "limits@openssh.com":
		return s.handleLimits(id)
	case "expand-path@openssh.com":
		return s.handleExpandPath(id, r)
	case "home-directory":
		return s.handleHomeDirectory(id, r)
	default:
		return s.sendStatus(id, fxOpUnsupported, fmt.Sprintf("extension %q is not supported", name))
	}
}

// handlePosixRename is rename(2), which replaces an existing target (SSH_FXP_RENAME
// does not).
func (s *Server) handlePosixRename(id uint32, r *reader) error {
	from, to := r.string(), r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := os.Rename(s.abs(from), s.abs(to))
	s.opts.event(Event{Name: EventRename, Path: s.abs(from), NewPath: s.abs(to), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleHardlink(id uint32, r *reader) error {
	from, to := r.string(), r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := os.Link(s.abs(from), s.abs(to))
	s.opts.event(Event{Name: EventLink, Path: s.abs(from), NewPath: s.abs(to), Err: errorText(err)})
	return s.sendError(id, err)
}

func (s *Server) handleStatVFS(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	var st unix.Statfs_t
	if err := pathErr("statvfs", path, unix.Statfs(s.abs(path), &st)); err != nil {
		return s.sendError(id, err)
	}
	return s.sendStatVFS(id, &st)
}

func (s *Server) handleFstatVFS(id uint32, r *reader) error {
	h, err := s.lookupAny(r.bytes())
	if err != nil {
		return s.sendError(id, err)
	}
	var st unix.Statfs_t
	err = pathErr("fstatvfs", h.path, unix.Fstatfs(int(h.f.Fd()), &st))
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendStatVFS(id, &st)
}

func (s *Server) handleFsync(id uint32, r *reader) error {
	h, err := s.lookup(r.bytes(), false)
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendError(id, h.f.Sync())
}

// handleLsetstat is SSH_FXP_SETSTAT without following a final symlink.
func (s *Server) handleLsetstat(id uint32, r *reader) error {
	path, a := r.string(), r.attrs()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	err := setAttrs(s.abs(path), a, false)
	s.opts.event(Event{Name: EventSetstat, Path: s.abs(path), Err: errorText(err)})
	return s.sendError(id, err)
}

// handleLimits tells the client the sizes it may use; OpenSSH clients that do not get
// this answer fall back to 32 KiB requests.
func (s *Server) handleLimits(id uint32) error {
	s.w.start(fxpExtendedReply, id)
	s.w.uint64(maxMessage)     // max packet length
	s.w.uint64(maxReadWrite)   // max read length
	s.w.uint64(maxReadWrite)   // max write length
	s.w.uint64(maxOpenHandles) // max open handles
	return s.send(s.w.finish())
}

func (s *Server) handleExpandPath(id uint32, r *reader) error {
	path := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	p, err := s.expandPath(path)
	if err != nil {
		return s.sendError(id, err)
	}
	return s.sendName(id, p, fileAttrs{})
}

func (s *Server) handleHomeDirectory(id uint32, r *reader) error {
	user := r.string()
	if r.err != nil {
		return s.sendError(id, r.err)
	}
	if user != "" && user != s.names.user(uint32(os.Getuid())) {
		return s.sendError(id, fmt.Errorf("home directory of %q: only the served user's is known: %w", user, os.ErrNotExist))
	}
	return s.sendName(id, s.home, fileAttrs{})
}

// sendStatVFS answers statvfs@openssh.com in its wire layout (PROTOCOL §4.4): eleven
// uint64 fields.
func (s *Server) sendStatVFS(id uint32, st *unix.Statfs_t) error {
	const stRdonly, stNosuid = 0x1, 0x2
	var flag uint64
	if st.Flags&unix.ST_RDONLY != 0 {
		flag |= stRdonly
	}
	if st.Flags&unix.ST_NOSUID != 0 {
		flag |= stNosuid
	}
	fsid := uint64(uint32(st.Fsid.Val[0]))<<32 | uint64(uint32(st.Fsid.Val[1]))
	s.w.start(fxpExtendedReply, id)
	for _, v := range []uint64{
		uint64(st.Bsize), uint64(st.Frsize), st.Blocks, st.Bfree, st.Bavail,
		st.Files, st.Ffree, st.Ffree, fsid, flag, uint64(st.Namelen),
	} {
		s.w.uint64(v)
	}
	return s.send(s.w.finish())
}
