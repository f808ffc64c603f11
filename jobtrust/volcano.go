package jobtrust

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// VolcanoKey finds the job key of Volcano's ssh plugin, which mounts a Secret as the
// user's ~/.ssh: id_rsa, id_rsa.pub, authorized_keys (holding id_rsa.pub) and config.
// It returns the path and content of sshDir/id_rsa when that key is listed in
// sshDir/authorized_keys, and an empty path when sshDir does not have that layout. Call
// it with the account's identity: the directory is the account's.
func VolcanoKey(sshDir string) (path string, data []byte, err error) {
	path = filepath.Join(sshDir, "id_rsa")
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
