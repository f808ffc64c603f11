package jobtrust

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// VolcanoKey finds the job key of Volcano's ssh plugin, which mounts a Secret as the
// user's ~/.ssh: id_rsa, id_rsa.pub, authorized_keys (holding id_rsa.pub) and config,
// on a read-only mount (Kubernetes mounts every Secret read-only). It returns the path
// and content of sshDir/id_rsa when the layout is that one (config present, sshDir
// read-only) and the key is listed in
// sshDir/authorized_keys, and an empty path otherwise: a user's own id_rsa, listed in
// their own authorized_keys as on many shared-home clusters, is a personal key, and
// taking it for a job key would refuse it from everywhere outside the job. Call it
// with the account's identity: the directory is the account's.
func VolcanoKey(sshDir string) (path string, data []byte, err error) {
	path = filepath.Join(sshDir, "id_rsa")
	var mount unix.Statfs_t
	if err := unix.Statfs(sshDir, &mount); err != nil || mount.Flags&unix.ST_RDONLY == 0 {
		return "", nil, nil // missing, or a ~/.ssh the account keeps itself
	}
	if _, err := os.Stat(filepath.Join(sshDir, "config")); err != nil {
		return "", nil, nil // not the plugin's layout
	}
	data, err = readSmallFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	authorized, err := readSmallFile(filepath.Join(sshDir, "authorized_keys"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	want := signer.PublicKey().Marshal()
	for rest := authorized; len(rest) > 0; {
		var key ssh.PublicKey
		var perr error
		key, _, _, rest, perr = ssh.ParseAuthorizedKey(rest)
		if perr != nil {
			break // no further key in the file
		}
		if bytes.Equal(key.Marshal(), want) {
			return path, data, nil
		}
	}
	return "", nil, nil
}
