package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/statedir"
	"jobsshd/keys"
)

// checkStateDir checks the state directory as the agent uses it at start, as the uid it
// runs as (euid): keys.HostKeys creates it (0700) and any missing host key, refuses a
// host key that is not a regular file of euid's, private to it, parsable and of the
// right type; the agent then writes status.json there. A directory that is not euid's,
// or that group or others can write, is refused as serve refuses it (statedir.Open).
func checkStateDir(r *Report, dir string, euid int) {
	if dir == "" {
		return // agent.CheckSettings' finding
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := existingAncestor(dir)
		if aerr := accessible(parent, 2|1); aerr != nil {
			r.fail(fmt.Sprintf("mkdir -p -m 700 %s (owned by uid %d), or pass --state-dir with a directory it can write", dir, euid),
				"state directory %s does not exist and uid %d cannot create it: %s: %v: jobsshd will not start", dir, euid, parent, aerr)
			return
		}
		r.info("state directory %s does not exist: jobsshd creates it (0700) with new host keys at start", dir)
		return
	case err != nil:
		r.fail("pass --state-dir with a directory jobsshd can use", "state directory %s: %v: jobsshd will not start", dir, err)
		return
	case !fi.IsDir():
		r.fail("pass --state-dir with a directory", "state directory %s is not a directory: jobsshd will not start", dir)
		return
	}
	if err := statedir.Inspect(dir, euid); statedir.IsUnsafe(err) {
		var u *statedir.UnsafeError
		errors.As(err, &u)
		r.fail(u.Fix, "state directory %s %s: jobsshd refuses it and will not start (exit 2)", u.Path, u.Reason)
		return
	}
	if err := accessible(dir, 2|1); err != nil {
		r.fail(fmt.Sprintf("chown %d %s, or pass --state-dir with a directory uid %d can write", euid, dir, euid),
			"state directory %s is not writable by uid %d: %v: host keys and status.json cannot be written", dir, euid, err)
	} else {
		r.ok("state directory %s is writable", dir)
	}
	for _, hk := range keys.HostKeyFiles() {
		checkHostKey(r, filepath.Join(dir, hk.Name), hk.SSHType, euid)
	}
}

// checkHostKey checks one host key file (keys.loadHostKey's rules).
func checkHostKey(r *Report, path, sshType string, euid int) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.info("host key %s does not exist: jobsshd creates it at start (clients see a new host key)", path)
		return
	}
	if err != nil {
		r.fail("pass --state-dir with a directory jobsshd can use", "host key %s: %v: jobsshd will not start", path, err)
		return
	}
	if msg, fix := notRegular(path, fi); msg != "" {
		r.fail(fix, "host key %s %s: jobsshd will not start", path, msg)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != euid {
		r.fail(fmt.Sprintf("chown %d %s", euid, path),
			"host key %s belongs to uid %d, not to uid %d which jobsshd runs as: it refuses the key and will not start", path, st.Uid, euid)
		return
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		r.fail("chmod 600 "+path,
			"host key %s is accessible by group or others (mode %04o): jobsshd refuses it and will not start", path, perm)
		return
	}
	moveAway := fmt.Sprintf("move the file away (mv %s %s.bad) to have a new key generated (clients then see a new host key)", path, path)
	data, err := readKeyFile(path)
	if err != nil {
		r.fail("chmod 600 "+path, "host key %s: %v: jobsshd will not start", path, err)
		return
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		r.fail(moveAway, "host key %s does not parse: %v: jobsshd will not start", path, err)
		return
	}
	if got := signer.PublicKey().Type(); got != sshType {
		r.fail(moveAway, "host key %s holds a %s key, want %s: jobsshd will not start", path, got, sshType)
		return
	}
	r.ok("host key %s (%s)", path, ssh.FingerprintSHA256(signer.PublicKey()))
}

// existingAncestor returns the nearest directory above path that exists, which is
// where MkdirAll would create the first missing one.
func existingAncestor(path string) string {
	for dir := filepath.Dir(filepath.Clean(path)); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		if dir == "/" || dir == "." {
			return dir
		}
	}
}
