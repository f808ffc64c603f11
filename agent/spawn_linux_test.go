package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestParentDeathSignalOnlyWithTheProcess: a program's parent-death signal does not
// fire while the agent lives, even when the goroutine that asked for the program ran on
// a thread that has exited since (a goroutine that ends while locked to its thread, as
// internal/asuser's does when it cannot switch back to root, takes the thread with it).
// Each child is asked for from such a goroutine; once every one of those threads is
// gone, each child is sent SIGTERM: it must die of that, not of an earlier SIGKILL.
func TestParentDeathSignalOnlyWithTheProcess(t *testing.T) {
	const children = 20
	type started struct {
		cmd *exec.Cmd
		tid int
		err error
	}
	results := make(chan started, children)
	for range children {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
			cmd := exec.Command("sleep", "60")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			err := ownChildren.start(cmd)
			results <- started{cmd: cmd, tid: unix.Gettid(), err: err}
		}()
	}
	var cmds []*exec.Cmd
	var tids []int
	for range children {
		r := <-results
		if r.err != nil {
			t.Fatalf("start sleep: %v", r.err)
		}
		cmds, tids = append(cmds, r.cmd), append(tids, r.tid)
	}
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill() // reaped below, or already
		}
	})
	// Once a thread is gone from /proc, its exit (and any parent-death signal it sent)
	// is complete. The process's main thread cannot exit: a goroutine that ends locked
	// to it leaves it wedged instead (runtime.LockOSThread).
	deadline := time.Now().Add(10 * time.Second)
	exited := 0
	for _, tid := range tids {
		if tid == os.Getpid() {
			continue
		}
		exited++
		for {
			_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("thread %d of a goroutine that exited locked is still there after 10s", tid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if exited < children/2 {
		t.Fatalf("only %d of %d children were started from threads that exited; want most", exited, children)
	}
	for i, c := range cmds {
		if err := c.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("child %d: signal: %v", i, err)
		}
		_ = c.Wait() // the status says how it ended
		ownChildren.forget(c.Process.Pid)
		ws := c.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("child %d ended with %v, want killed by our SIGTERM (a SIGKILL means its parent-death signal fired while the agent lived)", i, c.ProcessState)
		}
	}
}

func TestParentDeathSignalByKind(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want syscall.Signal
	}{
		{"shell", syscall.SIGHUP},
		{"exec", syscall.SIGHUP},
		{"sftp", syscall.SIGKILL},
		{"scp", syscall.SIGKILL},
	} {
		if got := parentDeathSignal(tc.kind); got != tc.want {
			t.Errorf("parentDeathSignal(%q) = %v, want %v", tc.kind, got, tc.want)
		}
	}
}

// TestSpawnerStuckForkBlocksNoOther: a fork that does not finish (its child stuck in a
// chdir into a hung mount, before exec) holds one spawner thread, not every start.
func TestSpawnerStuckForkBlocksNoOther(t *testing.T) {
	stuck, release := exec.Command("stuck"), make(chan struct{})
	sp := &spawner{startCmd: func(cmd *exec.Cmd) error {
		if cmd == stuck {
			<-release
		}
		return nil
	}}
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- sp.start(stuck) }()
	for i := range 3 {
		done := make(chan error, 1)
		go func() { done <- sp.start(exec.Command("other")) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("start %d waited over 10s behind a stuck one", i)
		}
	}
	close(release)
	if err := <-stuckDone; err != nil {
		t.Fatal(err)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.threads > 3 {
		t.Errorf("%d spawner threads for at most 2 starts at once, want 2 or 3", sp.threads)
	}
}
