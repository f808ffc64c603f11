//go:build linux

package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"jobsshd/agent"
)

// `jobsshd status --wait --pid N` is for the process that started the agent as N
// (entrypoint.sh): without the pid, an agent that exits before it listens (a bad
// --user, a port in use) leaves nothing that tells a waiter so, and the waiter would
// sit out its whole --timeout while JOBSSHD_REQUIRED=1 must stop the container at once.
// The pid also tells this agent's status.json from one another agent wrote.

// errExitedBeforeReady is the error of a wait whose agent, pid, has exited. The agent
// says why on its stderr, which is the starter's.
func errExitedBeforeReady(pid int) error {
	return fmt.Errorf("jobsshd (pid %d) exited before it was ready: its log, with the reason, is on the stderr of the process that started it (the container's log, under entrypoint.sh)", pid)
}

// statusOfPID is st, read by runningStatus with err, when o.pid wrote it; else the
// reason it is not, told as the wait of pid's starter needs it.
func statusOfPID(o statusOptions, st *agent.Status, err error) (*agent.Status, error) {
	switch {
	case errors.Is(err, agent.ErrNoStatus):
		return nil, fmt.Errorf("jobsshd (pid %d) runs but has not written %s yet: it does once it listens", o.pid, filepath.Join(o.stateDir, agent.StatusFileName))
	case err != nil:
		return nil, err
	case st.PID != o.pid:
		return nil, fmt.Errorf("%s names pid %d, not %d: another agent's, or one left from before (jobsshd %d replaces it once it listens)", filepath.Join(o.stateDir, agent.StatusFileName), st.PID, o.pid, o.pid)
	}
	return st, nil
}
