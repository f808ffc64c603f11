//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"jobsshd/agent"
)

// Polling bounds for `status --wait`. It polls rather than watching with inotify: the
// state directory may not exist yet when it starts (the agent creates it), a live pid
// has to be checked again anyway (an agent that dies writes nothing), and a few
// syscalls every quarter second for a few seconds cost nothing worth saving.
const (
	statusPollFirst = 10 * time.Millisecond
	statusPollMax   = 250 * time.Millisecond
)

// awaitStatus is the running agent's status.json in o.stateDir. With o.wait it polls,
// with a backoff from statusPollFirst to statusPollMax, until there is one and its
// id_container exists (with o.listening, until there is one), up to o.timeout; the last
// reason it was not ready is the error. With o.pid only the status.json of that
// process counts, and its exit ends the wait at once (status_pid.go).
// sleep is time.Sleep but in tests, which act between polls.
func awaitStatus(o statusOptions, euid int, now func() time.Time, sleep func(time.Duration)) (*agent.Status, error) {
	deadline := now().Add(o.timeout)
	delay := statusPollFirst
	for {
		if o.pid > 0 && agent.ProcessExited(o.pid) {
			return nil, errExitedBeforeReady(o.pid)
		}
		st, err := runningStatus(o.stateDir, euid, o.wait && !o.listening)
		if o.pid > 0 {
			st, err = statusOfPID(o, st, err)
		}
		if err == nil || !o.wait {
			return st, err
		}
		left := deadline.Sub(now())
		if left <= 0 {
			return nil, fmt.Errorf("waited %v: %w", o.timeout, err)
		}
		sleep(min(delay, left))
		delay = min(2*delay, statusPollMax)
	}
}

// runningStatus is status.json when the agent it names runs; with ready, also only
// once every host key is there (a new state directory's RSA key comes after the first
// status.json, agent/host_keys_later.go) and its id_container exists (the agent writes
// it before status.json, so this holds unless the file was removed since).
func runningStatus(stateDir string, euid int, ready bool) (*agent.Status, error) {
	st, err := agent.ReadStatus(stateDir, euid)
	if errors.Is(err, agent.ErrNoStatus) {
		return nil, fmt.Errorf("jobsshd is not running (%w): start it (entrypoint.sh with JOBSSHD_ENABLE=1, or jobsshd serve), or pass --state-dir with the directory it uses", err)
	}
	if err != nil {
		return nil, err
	}
	if ok, why := st.Running(); !ok {
		return nil, fmt.Errorf("jobsshd is not running: %s/status.json names pid %d, but %s: start jobsshd again (it replaces the file)", stateDir, st.PID, why)
	}
	if ready && st.HostKeysPending {
		return nil, fmt.Errorf("jobsshd runs, but is still creating its RSA host key (a new state directory): wait a few seconds more")
	}
	if ready && !st.IDFileMissing {
		if fi, err := os.Lstat(st.IDFile); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("jobsshd runs, but its key %q is not there (removed since it started?): restart jobsshd to create it again", st.IDFile)
		}
	}
	return st, nil
}

// liveSummary is the live figures and the agent's identity, for the text output.
func liveSummary(st *agent.Status, now time.Time) string {
	last := "no activity since it started"
	if t, err := time.Parse(time.RFC3339, st.Live.LastActivity); err == nil {
		last = fmt.Sprintf("last activity %s (%s ago)", st.Live.LastActivity, now.Sub(t).Truncate(time.Second))
	}
	return fmt.Sprintf("jobsshd %s, pid %d, started %s; connections: %d, sessions: %d, %s.",
		st.Version, st.PID, st.StartedAt, st.Live.Connections, st.Live.Sessions, last)
}
