package agent

import (
	"fmt"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

// setupUserKey makes sure id_container exists at idFile (Plan.IDFile) (keys.EnsureUserKey) and sets up the file
// logins read it from. Nothing in the account's home stops the agent here: a derived
// file it had to skip, a home it cannot write, or a private key it refuses (a symlink,
// a FIFO, garbage, a file others can write) is logged once with the fix and the agent
// serves on (authorized_keys logins need none of them); status.json then says
// id_file_missing.
func (s *Server) setupUserKey(idFile string) error {
	acct := s.account
	uk, err := keys.EnsureUserKey(idFile, s.cfg.KeyType, int(acct.UID), int(acct.GID))
	if err != nil {
		return fmt.Errorf("id_container key: %w", err)
	}
	s.userKey = uk
	for _, skipped := range uk.Skipped {
		s.log.Warn("id_container file skipped", "err", skipped)
	}
	if uk.Unavailable != nil {
		s.log.Warn("no id_container", "path", uk.PrivatePath, "err", uk.Unavailable)
	}
	if uk.Exposed != nil {
		s.log.Warn("id_container readable by others", "path", uk.PrivatePath, "err", uk.Exposed)
	}
	if uk.Created {
		s.log.Info("created user key", "path", uk.PrivatePath, "ppk", uk.PPKPath,
			"fingerprint", ssh.FingerprintSHA256(uk.Public))
	}
	s.userKeyID = keys.NewUserKeyFile(idFile, int(acct.UID), int(acct.GID), s.log)
	return nil
}
