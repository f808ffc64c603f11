package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ErrStrictModes is wrapped by every refusal of CheckStrictModes (and of
// AuthorizedKeysFile.Keys), whose message names the offending path, its owner or mode,
// and the command that fixes it.
var ErrStrictModes = errors.New("refused by StrictModes")

// CheckStrictModes reports whether the file at path may be trusted for the account
// uid, whose home directory is home, following OpenSSH's StrictModes. gids are the
// account's groups, primary included, for the readability check. It returns nil, an
// error wrapping ErrStrictModes, or an error for a path it could not examine.
//
// The checks are OpenSSH's safe_path (misc.c in openssh-portable; sshd applies it to
// authorized_keys through auth_openfile in auth2-pubkeyfile.c). Symlinks are resolved
// first (realpath) and the checks apply to the real file and its real directories:
//   - the file must be a regular file, owned by uid or root, not writable by group or
//     others;
//   - each directory from the file's up to and including the home directory must be
//     owned by uid or root and not writable by group or others. Like safe_path, the
//     walk stops at the home directory, or goes on to "/" for a file outside it (so
//     such a file under the sticky, world-writable /tmp is refused). .ssh at 0750 or
//     0755 passes.
//
// sshd opens the file with the user's uid (temporarily_use_uid), so it also fails for
// a file the user cannot read. CheckStrictModes, called as root, emulates that from the
// mode bits (ACLs are not consulted): the account must be able to read the file and
// search every directory above it, up to "/". Without this, a user could symlink
// authorized_keys to a root-owned file such as /etc/shadow (0640), which passes the
// ownership checks, and have root read it for them. (AuthorizedKeysFile also opens
// the file as the account, as sshd does.)
func CheckStrictModes(path string, uid int, gids []int, home string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check %q: %w", path, err)
	}
	return checkStrictModes(path, fi, uid, gids, home)
}

// checkStrictModes is CheckStrictModes for a file already opened and fstat'ed as fi, so
// that the file-level checks apply to exactly what will be read (safe_path_fd).
func checkStrictModes(path string, fi fs.FileInfo, uid int, gids []int, home string) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("check %q: no ownership information", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("check %q: %w", path, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("check %q: resolve symlinks: %w", path, err)
	}
	what := fmt.Sprintf("%s %q", filepath.Base(abs), abs)
	if resolved != abs {
		what += fmt.Sprintf(" (resolving to %q)", resolved)
	}
	if rfi, err := os.Stat(resolved); err != nil || !os.SameFile(fi, rfi) {
		return fmt.Errorf("%w: %s changed while being checked", ErrStrictModes, what)
	}

	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file but %s: replace it with a regular file",
			ErrStrictModes, what, fileKind(fi.Mode()))
	}
	if err := checkOwnerAndMode(what, resolved, st, uid); err != nil {
		return err
	}
	if class, ok := accountMay(st, uid, gids, 4); !ok {
		fix := "chmod " + class + "+r " + shellQuote(resolved)
		lfi, lerr := os.Lstat(abs)
		switch {
		case lerr == nil && lfi.Mode()&fs.ModeSymlink != 0:
			fix = "replace the symlink " + shellQuote(abs) + " with a copy of the keys the account can read"
		case class == "o":
			fix = fmt.Sprintf("chown %d %s", uid, shellQuote(resolved))
		}
		return fmt.Errorf("%w: %s is not readable by uid %d (owner %d, group %d, mode %04o): %s",
			ErrStrictModes, what, uid, st.Uid, st.Gid, st.Mode&07777, fix)
	}

	homeReal := ""
	if home != "" {
		// As in safe_path, a home that does not resolve just means walking to "/".
		homeReal, _ = filepath.EvalSymlinks(home)
	}
	strict := true
	for dir := filepath.Dir(resolved); ; dir = filepath.Dir(dir) {
		var dst syscall.Stat_t
		if err := syscall.Stat(dir, &dst); err != nil {
			return fmt.Errorf("%w: directory %q: %w", ErrStrictModes, dir, err)
		}
		dwhat := fmt.Sprintf("directory %q", dir)
		if strict {
			if err := checkOwnerAndMode(dwhat, dir, &dst, uid); err != nil {
				return err
			}
		}
		if class, ok := accountMay(&dst, uid, gids, 1); !ok {
			return fmt.Errorf("%w: %s is not searchable by uid %d (owner %d, group %d, mode %04o): chmod %s+x %s",
				ErrStrictModes, dwhat, uid, dst.Uid, dst.Gid, dst.Mode&07777, class, shellQuote(dir))
		}
		if dir == homeReal {
			strict = false // "If are past the homedir then we can stop" (safe_path)
		}
		if dir == "/" || dir == "." {
			return nil
		}
	}
}

// checkOwnerAndMode applies safe_path's test to one file or directory: owned by uid or
// root, and not writable by group or others.
func checkOwnerAndMode(what, path string, st *syscall.Stat_t, uid int) error {
	if int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("%w: %s is owned by uid %d, not by uid %d or root: chown %d %s",
			ErrStrictModes, what, st.Uid, uid, uid, shellQuote(path))
	}
	if st.Mode&022 != 0 {
		fix := "chmod go-w " + shellQuote(path)
		if int(st.Uid) != uid {
			// A root-owned home with group write permission (OpenShift's usual one, for an
			// arbitrary uid in group 0): only its owner can fix the mode, and the keys can
			// come another way, as the keys from the environment or id_container, which is
			// checked as a file of the account's own (user_key_file.go).
			fix += fmt.Sprintf(" as its owner, uid %d, which uid %d is not (in the image, a RUN line), or pass the keys in JOBSSHD_AUTHORIZED_KEYS, or log in with the id_container key",
				st.Uid, uid)
		}
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o): %s",
			ErrStrictModes, what, st.Mode&07777, fix)
	}
	return nil
}

// accountMay reports whether the account may read (perm 4) or search (perm 1) a file
// with st's owner and mode, by the classic permission check: only the owner bits count
// for the owner, only the group bits for a group member. class is the class ("u", "g"
// or "o") that decided. Root may do anything.
func accountMay(st *syscall.Stat_t, uid int, gids []int, perm uint32) (class string, ok bool) {
	switch {
	case uid == 0:
		return "u", true
	case int(st.Uid) == uid:
		return "u", st.Mode&(perm<<6) != 0
	case slices.Contains(gids, int(st.Gid)):
		return "g", st.Mode&(perm<<3) != 0
	default:
		return "o", st.Mode&perm != 0
	}
}

// fileKind names a non-regular file type for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "a special file"
	}
}

// shellQuote quotes p for a command line a user can paste.
func shellQuote(p string) string {
	if p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@%:,=") == "" {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
