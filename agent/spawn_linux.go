package agent

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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
// So every child is forked by a goroutine that locks itself to its thread for good and
// never returns: no other goroutine ever runs on that thread, so none can lock it and
// exit, and the thread ends only with the process. These goroutines live as long as
// the process (the spawner is the process's, as ownChildren is), so nothing waits for
// them. A fork is a vfork: the forking thread waits until the child has exec'd, and a
// child can be slow to get there (its chdir into a home on a hung network or FUSE
// mount), so one thread would let one stuck login hold up every other. A spawner thread
// is therefore started whenever none is idle, up to maxSpawnerThreads; threads stay
// for the life of the process, so their number is the most forks ever in flight at
// once (one or two in practice). BenchmarkStartProgram compares a start through them
// with cmd.Start on the caller's thread.

// maxSpawnerThreads bounds the spawner's threads; more forks at once wait for one.
const maxSpawnerThreads = 16

// spawnRequest is one cmd.Start to run on a spawner thread.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner forks children from long-lived threads; see above. The zero value is ready.
type spawner struct {
	once    sync.Once
	reqs    chan spawnRequest
	mu      sync.Mutex // guards idle and threads
	idle    int        // threads waiting for a request that no start has taken
	threads int
	oom     oomScores // what a child gets, and what the agent goes back to
	// startCmd is cmd.Start; tests replace it with a start that blocks.
	startCmd func(*exec.Cmd) error
}

// start runs cmd.Start on a spawner thread and returns its error.
func (sp *spawner) start(cmd *exec.Cmd) error {
	sp.once.Do(func() { sp.reqs = make(chan spawnRequest) })
	// Each start takes an idle thread (or a new one) before it sends, so that no start
	// waits behind a busy thread while another could be made. At maxSpawnerThreads a
	// start waits for whichever thread is free first.
	sp.mu.Lock()
	switch {
	case sp.idle > 0:
		sp.idle--
	case sp.threads < maxSpawnerThreads:
		sp.threads++
		go sp.run()
	}
	sp.mu.Unlock()
	done := make(chan error, 1)
	sp.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// run serves requests on a thread of its own; the thread is taken by the start that
// made it, and counts as idle after each request.
func (sp *spawner) run() {
	runtime.LockOSThread() // never unlocked: see the comment at the top of this file
	nameSpawnerThread()
	for r := range sp.reqs {
		r.done <- sp.startOne(r.cmd)
		sp.mu.Lock()
		sp.idle++
		sp.mu.Unlock()
	}
}

// spawnerThreadName is what ps -T, top -H and /proc/PID/task/TID/comm show for a
// spawner thread, so that its (up to maxSpawnerThreads) permanent threads can be told
// from the runtime's: integration/soak_test.go counts them apart. 15 bytes, the most
// PR_SET_NAME keeps.
const spawnerThreadName = "jobsshd-spawner"

// nameSpawnerThread names the calling (locked) thread spawnerThreadName, unless it is
// the main thread, whose name is the process's (/proc/PID/comm, what pgrep and ps
// show). A child inherits the name only until its exec.
func nameSpawnerThread() {
	if unix.Gettid() == unix.Getpid() {
		return
	}
	name := []byte(spawnerThreadName + "\x00")
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0) // a name only: nothing depends on it
}

// startOne starts cmd with the OOM score children get (see oomScores.forkBegins).
func (sp *spawner) startOne(cmd *exec.Cmd) error {
	end, err := sp.oom.forkBegins()
	if err != nil {
		return err
	}
	defer end()
	if sp.startCmd != nil {
		return sp.startCmd(cmd)
	}
	return cmd.Start()
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
