package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"jobsshd/jobtrust"
	"jobsshd/keys"
)

// readJobSecretFile reads --job-secret-file. Trailing line ends are not part of the
// secret, so a file written with `echo` and a variable set to the same text agree.
// As root it reads only a file that root alone decided (readJobSecretFileAsRoot).
func readJobSecretFile(path string) (jobtrust.Secret, error) {
	return readJobSecretFileAs(path, os.Geteuid() == 0)
}

// readJobSecretFileAs is readJobSecretFile for an agent that runs as root or not. Both
// ways open the file without blocking and read it bounded, so a FIFO or a device at the
// path fails at once instead of hanging the start: as root through
// jobtrust.ReadRootOnlyFile, otherwise through keys.ReadRegularFileFollow (a regular
// file only; symlinks are followed, as Kubernetes mounts Secrets through them).
func readJobSecretFileAs(path string, root bool) (jobtrust.Secret, error) {
	var b []byte
	var err error
	if root {
		b, err = readJobSecretFileAsRoot(path)
	} else {
		b, err = keys.ReadRegularFileFollow(path, maxJobSecretFile)
	}
	if err != nil {
		return nil, fmt.Errorf("--job-secret-file: %w", err)
	}
	return jobtrust.Secret(bytes.TrimRight(b, "\r\n")), nil
}

// readJobSecretFileAsRoot reads --job-secret-file for an agent running as root. The
// secret decides the job keys, whose private half is written into the account's
// ~/.ssh, so root reads only a file that root alone decided: every directory and
// symlink on the way, and the file, are root's and not writable by group or others
// (jobtrust.ReadRootOnlyFile; a Kubernetes Secret mount qualifies). A file the account
// could have replaced or pointed elsewhere (issue 10, item 1) is refused, with the fix.
func readJobSecretFileAsRoot(path string) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := jobtrust.ReadRootOnlyFile(abs, maxJobSecretFile)
	if errors.Is(err, jobtrust.ErrNotRootOnly) {
		return nil, fmt.Errorf("%w: jobsshd runs as root and reads a job secret only from a file that is root's, in directories that are root's, none of them writable by group or others (a Kubernetes Secret mount is); move it there or pass JOBSSHD_JOB_SECRET", err)
	}
	return b, err
}
