package agent

import (
	"fmt"
	"os"

	"jobsshd/internal/statedir"
)

// openStateDir opens and checks the state directory (statedir.Open): one that is not
// the agent's own, or that its group or others can write, is a configuration error
// naming the fix. Host keys and status.json are then only ever reached through the
// opened directory.
func (s *Server) openStateDir() error {
	sd, err := statedir.Open(s.cfg.StateDir, os.Geteuid())
	if statedir.IsUnsafe(err) {
		return &ConfigError{err}
	}
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	s.stateDir = sd
	return nil
}
