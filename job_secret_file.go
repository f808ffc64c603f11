package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"jobsshd/jobtrust"
)

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
