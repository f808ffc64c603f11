package reaper

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An exited process stays a zombie, holding its pid, until its parent waits for it.
// jobsshd waits for every program it starts (the agent's process.wait). But when it is PID 1 of its
// PID namespace (an image whose entrypoint is jobsshd, `unshare --pid --fork jobsshd`)
// or a child subreaper, the kernel also makes it the parent of every process orphaned
// below it, such as a session's background job (`sleep 9 &` and exit): nobody else will
// ever wait for those, and their zombies pile up until the namespace runs out of pids.
//
// ReapOrphans waits for those and only those. A zombie that is one of the agent's own
// programs must be left alone: process.wait needs its exit status (RFC 4254 §6.10), and
// relies on its pid staying reserved until it reaps it (see process.killGroup). So every
// child the agent starts is registered (Registry.Start on Children), and the reaper reaps an
// exited child only when it is not registered and no start is in flight: a child that
// exits at once may be a zombie before its starter learns its pid and registers it.
//
// The reaper does not hold starts up while it waits: a fork can take long (its child
// stuck in a chdir into a home on a hung network or FUSE mount, before exec), and the
// spawner's threads exist so that one such fork stalls no other login
// (agent/spawn_linux.go). An earlier version held a shared lock across each start and took it
// exclusively to reap; Go's RWMutex then makes every new reader wait behind the pending
// writer, so one stuck fork plus one SIGCHLD stopped every program start. Now the
// reaper checks and reaps under the registry's mutex, which a start holds only to count
// itself in and to register its pid, and waits for the count of starts in flight to
// reach zero (the start that brings it there wakes it). Orphans are therefore reaped
// late while a fork is stuck, never taken early.

// Children is the registry of this process's children that a goroutine will wait for,
// the one ReapOrphans spares. It is the process's, not a Server's: children belong to
// the process, and a reaper that knew only one Server's programs would steal another's.
var Children = NewRegistry()

// Registry tracks the children that their starter waits for itself. Create it with
// NewRegistry.
type Registry struct {
	mu   sync.Mutex  // guards pids and starting; held while the reaper checks and reaps
	pids map[int]int // pid → registrations not yet forgotten
	// starting counts the starts between their fork and their registration: while it
	// is not zero, an exited child nobody registered may be one of theirs.
	starting int
	// waited wakes the reaper after an owner reaped its child (the kernel shows the
	// reaper one exited child at a time, and an owned one hides the rest until reaped)
	// and when the last start in flight has registered its child.
	waited chan struct{}
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{pids: map[int]int{}, waited: make(chan struct{}, 1)}
}

// Start starts cmd with start (cmd.Start, or one that runs it on another thread) and
// registers its pid. Every child this process starts must be started through it, or a
// reaper may take its exit status (cmd.Wait then fails with ECHILD); the caller must
// call Forget once cmd.Wait has returned. start must, like cmd.Start, leave no child
// behind when it fails.
func (r *Registry) Start(cmd *exec.Cmd, start func(*exec.Cmd) error) error {
	r.mu.Lock()
	r.starting++
	r.mu.Unlock()
	err := start(cmd) // on error, Start already waited for a child that failed to exec
	r.mu.Lock()
	r.starting--
	if err == nil {
		r.pids[cmd.Process.Pid]++
	}
	last := r.starting == 0
	r.mu.Unlock()
	if last {
		r.wakeReaper() // it may have passed over an exited child while this start ran
	}
	return err
}

// Forget drops pid, which its owner has reaped, and wakes the reaper.
func (r *Registry) Forget(pid int) {
	r.mu.Lock()
	// A count, not a flag: once reaped, pid may already belong to a newer child, which
	// registered it again before this forget.
	if r.pids[pid]--; r.pids[pid] <= 0 {
		delete(r.pids, pid)
	}
	r.mu.Unlock()
	r.wakeReaper()
}

func (r *Registry) wakeReaper() {
	select {
	case r.waited <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// reapedChild is an orphan the reaper waited for, for the log.
type reapedChild struct {
	pid    int
	code   int32 // CLD_EXITED, CLD_KILLED or CLD_DUMPED
	status int32 // the exit status, or the signal number
}

// maxReapsPerRound bounds one round of reapUnowned; the reaper goes on with another.
const maxReapsPerRound = 256

// reapUnowned reaps exited children that nobody registered, at most max of them; more
// reports that it stopped at its bound and another round should follow. It stops early
// at the first exited child that is registered: the kernel names exited children one at
// a time, first come first, so that one hides any behind it until its owner reaps it and
// forget wakes the reaper. It also stops while a start is in flight, until the last one
// registers its child and wakes the reaper.
func (r *Registry) reapUnowned(max int) (reaped []reapedChild, more bool) {
	for tries := 0; tries < 2*max; tries++ {
		if len(reaped) == max {
			return reaped, true
		}
		var peek siginfoChild // zero: si_pid stays 0 when no child has exited
		err := waitid(unix.P_ALL, 0, &peek, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT)
		if err == unix.EINTR {
			continue
		}
		if err != nil || peek.Pid == 0 {
			return reaped, false // ECHILD (no children at all), or none exited
		}
		child, stop := r.reapIfUnowned(int(peek.Pid))
		if stop {
			return reaped, false
		}
		if child != nil {
			reaped = append(reaped, *child)
		}
	}
	return reaped, true // bounded: the next round goes on
}

// reapIfUnowned reaps pid, an exited child the reaper peeked at, unless it is registered
// or a start is in flight (stop). Both the check and the reap happen under r.mu, which a
// start takes to count itself in: no fork can begin between them, so pid, which the
// check found unregistered, cannot meanwhile be reaped by its owner and handed to a
// new child that the reap would then take.
func (r *Registry) reapIfUnowned(pid int) (child *reapedChild, stop bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pids[pid] > 0 || r.starting > 0 {
		return nil, true
	}
	var info siginfoChild
	err := waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG)
	if err != nil || info.Pid == 0 {
		// pid was an owned child that its owner reaped (and forgot) since the peek: it
		// is gone, and the next peek names another.
		return nil, false
	}
	return &reapedChild{pid: int(info.Pid), code: info.Code, status: info.Status}, false
}

// inheritsOrphans reports whether the kernel reparents orphaned processes to this one:
// it is PID 1 of its PID namespace, or a child subreaper (PR_SET_CHILD_SUBREAPER,
// which a launcher may set before it execs jobsshd: it survives execve).
func inheritsOrphans() bool {
	if os.Getpid() == 1 {
		return true
	}
	var subreaper int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&subreaper)), 0, 0, 0)
	return err == nil && subreaper != 0
}

// ReapOrphans reaps, until ctx is done, the orphaned processes the kernel hands to
// jobsshd when it is PID 1 of its PID namespace or a child subreaper, leaving the
// agent's own programs (those registered in Children) to their sessions. Otherwise orphans go to some other init, and it
// returns at once. Run it in a goroutine the caller waits for.
func ReapOrphans(ctx context.Context, log *slog.Logger) {
	if !inheritsOrphans() {
		return
	}
	log.Debug("reaping orphaned processes", "pid", os.Getpid())
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)
	Children.reapLoop(ctx, sigchld, log)
}

// reapLoop reaps unowned children now, then whenever a child exits (SIGCHLD; signals
// coalesce, so each round reaps all it can) or an owner reaped its child.
func (r *Registry) reapLoop(ctx context.Context, sigchld <-chan os.Signal, log *slog.Logger) {
	for {
		reaped, more := r.reapUnowned(maxReapsPerRound)
		for _, c := range reaped {
			log.Debug("reaped orphaned process", "pid", c.pid, "how", cldName(c.code), "status", c.status)
		}
		if more {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-sigchld:
		case <-r.waited:
		}
	}
}

// si_code values of a child's siginfo (include/uapi/asm-generic/siginfo.h), which
// x/sys/unix does not name.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

func cldName(code int32) string {
	switch code {
	case cldExited:
		return "exited"
	case cldKilled:
		return "killed"
	case cldDumped:
		return "dumped"
	}
	return "other"
}

// is64bit is 1 on 64-bit hosts, 0 on 32-bit ones.
const is64bit = ^uint(0) >> 63

// siginfoChild is siginfo_t as waitid fills it for a child (the layout Go's
// internal/syscall/unix.SiginfoChild uses): x/sys/unix.Siginfo hides si_pid.
type siginfoChild struct {
	Signo  int32
	_      int32          // si_errno (si_code on MIPS)
	Code   int32          // si_code (si_errno on MIPS; only the log reads it)
	_      [is64bit]int32 // the union is pointer-aligned on 64-bit hosts
	Pid    int32
	UID    uint32
	Status int32
	_      [128 - (6+is64bit)*4]byte
}

func waitid(idType, id int, info *siginfoChild, options int) error {
	return unix.Waitid(idType, id, (*unix.Siginfo)(unsafe.Pointer(info)), options, nil)
}
