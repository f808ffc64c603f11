package agent

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// A program the agent starts gets a parent-death signal (SysProcAttr.Pdeathsig, prctl
// PR_SET_PDEATHSIG), so that it learns when the agent is killed (kill -9, the OOM
// killer, a crash) instead of running on with no session (issue 10, item 13). The
// kernel sends that signal when the *thread* that forked the child exits, not when its
// process does (prctl(2); golang/go#27505). Go threads outlive their goroutines, with
// one exception: a goroutine that exits while locked to its thread (LockOSThread
// without Unlock) takes the thread with it. internal/asuser does exactly that when it
// cannot switch a thread back to root, and a thread that once forked a session could be
// the one it is given (golang/go#34031 is that bug in another program): the session
// would get the signal while the agent lives on.
//
// So every child is forked by one goroutine that locks itself to its thread for good
// and never returns: no other goroutine ever runs on that thread, so none can lock it
// and exit, and the thread ends only with the process. The goroutine lives as long as
// the process (the spawner is the process's, as ownChildren is), so nothing waits for
// it. Starts are serialised through it; a start is a vfork and an exec, well under a
// millisecond of that thread's time (BENCHMARKS.md has the session start rate).

// spawnRequest is one cmd.Start to run on the spawner thread.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner forks children from its one long-lived thread; see above. The zero value is
// ready: the thread is started on first use.
type spawner struct {
	once sync.Once
	reqs chan spawnRequest
	oom  oomScores // what a child gets, and what the agent goes back to
}

// start runs cmd.Start on the spawner thread and returns its error.
func (sp *spawner) start(cmd *exec.Cmd) error {
	sp.once.Do(func() {
		sp.reqs = make(chan spawnRequest)
		go sp.run()
	})
	done := make(chan error, 1)
	sp.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

func (sp *spawner) run() {
	runtime.LockOSThread() // never unlocked: see the comment at the top of this file
	for r := range sp.reqs {
		r.done <- sp.startOne(r.cmd)
	}
}

// startOne starts cmd with the OOM score children get (see oomScores.aroundFork).
func (sp *spawner) startOne(cmd *exec.Cmd) error {
	restore, err := sp.oom.forChild()
	if err != nil {
		return err
	}
	err = cmd.Start()
	restore()
	return err
}

// parentDeathSignal is the signal a program of kind gets when the agent dies. A shell or
// command gets SIGHUP, which is what a hangup (a closed session, see process.hangUp)
// sends: programs started with nohup or that ignore SIGHUP survive, as the user meant
// them to; a pty session also gets the kernel's hangup when the terminal's master is
// closed with the agent. The transfer programs (jobsshd sftp-server and scp) ignore
// SIGHUP and end when their input does, which the agent's death closes; SIGKILL ends
// one stuck in the kernel too (a FIFO no one writes), as process.hangUp does after its
// drain time.
func parentDeathSignal(kind string) syscall.Signal {
	switch kind {
	case "sftp", "scp":
		return syscall.SIGKILL
	}
	return syscall.SIGHUP
}
