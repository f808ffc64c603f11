package sftpd

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"jobsshd/internal/account"
)

// fileAttrs is an SFTP ATTRS structure; flags say which fields are present.
type fileAttrs struct {
	flags        uint32
	size         uint64
	uid, gid     uint32
	perm         uint32 // st_mode: file type bits and permissions
	atime, mtime uint32
	nlink        uint64 // not on the wire; for the long name
}

// attrsOf converts a stat result. It uses the raw stat so that the type bits, uid and
// gid are the kernel's, not Go's portable FileMode.
func attrsOf(fi fs.FileInfo) fileAttrs {
	a := fileAttrs{flags: attrSize | attrUIDGID | attrPermissions | attrACModTime, size: uint64(fi.Size())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a.uid, a.gid, a.perm, a.nlink = st.Uid, st.Gid, st.Mode, uint64(st.Nlink)
		a.atime, a.mtime = uint32(st.Atim.Sec), uint32(st.Mtim.Sec)
		return a
	}
	a.perm = uint32(fi.Mode().Perm())
	a.mtime = uint32(fi.ModTime().Unix())
	a.atime = a.mtime
	return a
}

// setAttrs applies SETSTAT/FSETSTAT/lsetstat attributes to path, in OpenSSH's order:
// size, permissions, times, owner. follow is false for lsetstat@openssh.com.
func setAttrs(path string, a fileAttrs, follow bool) error {
	if a.flags&attrSize != 0 {
		if err := os.Truncate(path, int64(a.size)); err != nil {
			return err
		}
	}
	if a.flags&attrPermissions != 0 {
		var err error
		if follow {
			err = unix.Chmod(path, a.perm&0o7777)
		} else if err = unix.Fchmodat(unix.AT_FDCWD, path, a.perm&0o7777, unix.AT_SYMLINK_NOFOLLOW); err == unix.EOPNOTSUPP {
			err = nil // Linux cannot chmod a symlink itself, and its mode means nothing
		}
		if err != nil {
			return &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	if a.flags&attrACModTime != 0 {
		flags := 0
		if !follow {
			flags = unix.AT_SYMLINK_NOFOLLOW
		}
		ts := []unix.Timespec{unix.NsecToTimespec(int64(a.atime) * 1e9), unix.NsecToTimespec(int64(a.mtime) * 1e9)}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, flags); err != nil {
			return &fs.PathError{Op: "utimes", Path: path, Err: err}
		}
	}
	if a.flags&attrUIDGID != 0 {
		chown := os.Chown
		if !follow {
			chown = os.Lchown
		}
		if err := chown(path, int(a.uid), int(a.gid)); err != nil {
			return err
		}
	}
	return nil
}

// setFileAttrs is setAttrs on an open file (FSETSTAT).
func setFileAttrs(f *os.File, a fileAttrs) error {
	if a.flags&attrSize != 0 {
		if err := f.Truncate(int64(a.size)); err != nil {
			return err
		}
	}
	if a.flags&attrPermissions != 0 {
		if err := unix.Fchmod(int(f.Fd()), a.perm&0o7777); err != nil {
			return &fs.PathError{Op: "chmod", Path: f.Name(), Err: err}
		}
	}
	if a.flags&attrACModTime != 0 {
		tv := []unix.Timeval{{Sec: int64(a.atime)}, {Sec: int64(a.mtime)}}
		if err := unix.Futimes(int(f.Fd()), tv); err != nil {
			return &fs.PathError{Op: "utimes", Path: f.Name(), Err: err}
		}
	}
	if a.flags&attrUIDGID != 0 {
		if err := f.Chown(int(a.uid), int(a.gid)); err != nil {
			return err
		}
	}
	return nil
}

// longName is the `ls -l` style line of a READDIR entry. FileZilla, WinSCP and older
// clients parse it, so it follows OpenSSH's ls_file() layout.
func longName(name string, a fileAttrs, names *idNames, now time.Time) string {
	mtime := time.Unix(int64(a.mtime), 0)
	stamp := mtime.Format("Jan _2 15:04")
	if d := now.Sub(mtime); d > 182*24*time.Hour || d < -182*24*time.Hour {
		stamp = mtime.Format("Jan _2  2006")
	}
	return fmt.Sprintf("%s %3d %-8s %-8s %8d %s %s", modeString(a.perm), a.nlink,
		names.user(a.uid), names.group(a.gid), a.size, stamp, name)
}

// modeString renders st_mode like ls: "drwxr-xr-x".
func modeString(mode uint32) string {
	b := []byte("?rwxrwxrwx")
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		b[0] = '-'
	case unix.S_IFDIR:
		b[0] = 'd'
	case unix.S_IFLNK:
		b[0] = 'l'
	case unix.S_IFCHR:
		b[0] = 'c'
	case unix.S_IFBLK:
		b[0] = 'b'
	case unix.S_IFIFO:
		b[0] = 'p'
	case unix.S_IFSOCK:
		b[0] = 's'
	}
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(bit uint32, pos int, set, setNoExec byte) {
		if mode&bit != 0 {
			if b[pos] == '-' {
				b[pos] = setNoExec
			} else {
				b[pos] = set
			}
		}
	}
	special(unix.S_ISUID, 3, 's', 'S')
	special(unix.S_ISGID, 6, 's', 'S')
	special(unix.S_ISVTX, 9, 't', 'T')
	return string(b)
}

// idNames maps uids and gids to names for long names, reading /etc/passwd and
// /etc/group (account.IDNames) once, on first use.
type idNames struct {
	users, groups map[uint32]string
}

func (n *idNames) user(uid uint32) string {
	if n.users == nil {
		n.users = account.IDNames("/etc/passwd")
	}
	if s, ok := n.users[uid]; ok {
		return s
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func (n *idNames) group(gid uint32) string {
	if n.groups == nil {
		n.groups = account.IDNames("/etc/group")
	}
	if s, ok := n.groups[gid]; ok {
		return s
	}
	return strconv.FormatUint(uint64(gid), 10)
}
