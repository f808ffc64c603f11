package keys

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/crypto/ssh"
)

// HostKeysReady is HostKeys for an agent that serves before all of its host keys exist:
// it loads every host key file there is and creates a missing ed25519 key (a few
// microseconds), as HostKeys does, but returns a missing RSA key's file in later instead
// of creating it. An RSA-3072 key takes from a few hundred milliseconds to several
// seconds to generate on one core (the search for its primes is random), which is every
// first start of a container whose state directory is not kept; the caller creates the
// keys in later with GenerateHostKey and StoreHostKey while it serves with the ready ones. ready keeps
// HostKeys' order (ed25519 first), and a file that is there but refused is an error,
// as in HostKeys.
func HostKeysReady(dir *os.Root) (ready []ssh.Signer, later []HostKeyFile, err error) {
	for _, spec := range HostKeyFiles() {
		if spec.KeyType == KeyTypeRSA {
			_, err := dir.Lstat(spec.Name)
			if errors.Is(err, fs.ErrNotExist) {
				later = append(later, spec)
				continue
			}
		}
		signer, err := CreateHostKey(dir, spec)
		if err != nil {
			return nil, nil, err
		}
		ready = append(ready, signer)
	}
	return ready, later, nil
}
