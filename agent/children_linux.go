package agent

import (
	"os/exec"

	"jobsshd/internal/reaper"
)

// ownChildren starts every program of the agent: forked by the spawner
// (spawn_linux.go) and registered with the process's reaper.Children, so that
// reaper.ReapOrphans never takes the exit status a session waits for. Like
// reaper.Children and the spawner's threads, it is the process's, not a Server's.
var ownChildren = &children{registry: reaper.Children}

// children is the agent's side of the reaper's registry.
type children struct {
	registry *reaper.Registry
	// spawner forks every child from a thread that lives as long as the process, so
	// that their parent-death signal fires only when the process dies (spawn_linux.go).
	spawner spawner
}

// start starts cmd on a spawner thread and registers it; the caller must call forget
// once cmd.Wait has returned (reaper.Registry.Start).
func (c *children) start(cmd *exec.Cmd) error { return c.registry.Start(cmd, c.spawner.start) }

// forget drops pid, which its owner has reaped (reaper.Registry.Forget).
func (c *children) forget(pid int) { c.registry.Forget(pid) }
