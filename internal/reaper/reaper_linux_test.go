package reaper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"jobsshd/internal/testwait"
)

// These tests use the process's real registry, Children, and no t.Parallel: a reaper
// in the test binary would take the exit status of any child the other tests start
// outside it, and the tests here start unregistered children on purpose.

// exitedChild starts `sh -c 'exit code'`, registered or not, and waits until it is a
// zombie.
func exitedChild(t *testing.T, code string, registered bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "exit "+code)
	start := cmd.Start
	if registered {
		start = func() error { return Children.Start(cmd, (*exec.Cmd).Start) }
	}
	if err := start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	awaitExit(cmd.Process.Pid)
	return cmd
}

// reapedBy reports whether pid is gone from this process's children (reaped).
func reapedBy(pid int) bool {
	var info siginfoChild
	return waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT) == unix.ECHILD
}

func TestReapUnownedSparesRegisteredChildren(t *testing.T) {
	// owned first: the kernel names exited children in order, so it hides the orphan
	// until its owner has reaped it.
	owned := exitedChild(t, "7", true)
	orphan := exitedChild(t, "3", false)

	reaped, more := Children.reapUnowned(maxReapsPerRound)
	if more {
		t.Fatalf("reapUnowned stopped at its bound with %d reaped", len(reaped))
	}
	if slices.ContainsFunc(reaped, func(c reapedChild) bool { return c.pid == owned.Process.Pid }) {
		t.Fatalf("reapUnowned reaped the registered child %d: %v", owned.Process.Pid, reaped)
	}
	err := owned.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Fatalf("registered child: Wait = %v, want exit status 7 (its status was taken)", err)
	}
	select {
	case <-Children.waited: // drain a wake-up left by another test
	default:
	}
	Children.Forget(owned.Process.Pid)
	select {
	case <-Children.waited:
	default:
		t.Fatal("forget did not wake the reaper")
	}

	reaped2, more2 := Children.reapUnowned(maxReapsPerRound)
	reaped = append(reaped, reaped2...)
	if more2 {
		t.Fatalf("reapUnowned stopped at its bound with %d reaped", len(reaped2))
	}
	i := slices.IndexFunc(reaped, func(c reapedChild) bool { return c.pid == orphan.Process.Pid })
	if i < 0 {
		t.Fatalf("the unregistered child %d was not reaped; reaped %v", orphan.Process.Pid, reaped)
	}
	if c := reaped[i]; c.code != cldExited || c.status != 3 {
		t.Errorf("orphan reaped as %s status %d, want exited status 3", cldName(c.code), c.status)
	}
	if !reapedBy(orphan.Process.Pid) {
		t.Errorf("the unregistered child %d is still a child after reapUnowned", orphan.Process.Pid)
	}
}

// TestReaperNeverTakesOwnedChildren starts short-lived registered children from several
// goroutines while the reaper runs on every SIGCHLD, as it does as PID 1, together with
// unregistered ones it must reap. A child exiting between Start and its registration is
// the race the registry closes (starts in flight hold the reaper off): without it, some Wait here fails with ECHILD.
func TestReaperNeverTakesOwnedChildren(t *testing.T) {
	const (
		starters  = 4
		perWorker = 40
		orphans   = 20
	)
	ctx, cancel := context.WithCancel(context.Background())
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	var reaper sync.WaitGroup
	reaper.Go(func() { Children.reapLoop(ctx, sigchld, slog.New(slog.DiscardHandler)) })
	defer func() { cancel(); reaper.Wait(); signal.Stop(sigchld) }()

	var wg sync.WaitGroup
	errs := make(chan error, starters*perWorker)
	for w := range starters {
		wg.Go(func() {
			for i := range perWorker {
				code := (w*perWorker + i) % 100
				cmd := exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(code))
				if err := Children.Start(cmd, (*exec.Cmd).Start); err != nil {
					errs <- err
					return
				}
				awaitExit(cmd.Process.Pid)
				err := cmd.Wait()
				Children.Forget(cmd.Process.Pid)
				if got := cmd.ProcessState.ExitCode(); got != code {
					errs <- fmt.Errorf("child %d: exit %d (Wait: %v), want %d", cmd.Process.Pid, got, err, code)
				}
			}
		})
	}
	var orphanPids []int
	for range orphans {
		cmd := exec.Command("/bin/sh", "-c", "exit 0")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		orphanPids = append(orphanPids, cmd.Process.Pid)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, pid := range orphanPids {
		if !testwait.Until(5*time.Second, func() bool { return reapedBy(pid) }) {
			t.Fatalf("unregistered child %d still unreaped after 5s", pid)
		}
	}
}

// TestReapOrphansOnlyWhenInheriting: a test binary is neither PID 1 nor a subreaper, so
// ReapOrphans must return at once rather than take its children.
func TestReapOrphansOnlyWhenInheriting(t *testing.T) {
	if inheritsOrphans() {
		t.Skip("the test runs as PID 1 or a subreaper")
	}
	done := make(chan struct{})
	go func() { ReapOrphans(context.Background(), slog.New(slog.DiscardHandler)); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReapOrphans still running after 5s in a process that inherits no orphans")
	}
}

// TestStuckStartHoldsUpNoOtherWithReaper: a start whose fork does not finish (its child
// stuck in a chdir into a hung mount, before exec) while the reaper runs on every
// SIGCHLD holds up no other start, and the reaper neither takes the exit status of a
// child registered meanwhile nor loses the orphans: it reaps them once the stuck start
// ends. With a shared lock across each start and an exclusive one to reap, the reaper's
// pending lock made every later start wait behind the stuck one.
func TestStuckStartHoldsUpNoOtherWithReaper(t *testing.T) {
	r := NewRegistry()
	stuck, release := exec.Command("stuck"), make(chan struct{})
	start := func(cmd *exec.Cmd) error {
		if cmd == stuck {
			<-release
			return errors.New("the stuck start gave up")
		}
		return cmd.Start()
	}
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- r.Start(stuck, start) }()
	if !testwait.Until(testwait.Default, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.starting == 1 }) {
		t.Fatal("the stuck start is not in flight")
	}

	// The reaper runs on every SIGCHLD, as it does as PID 1.
	ctx, cancel := context.WithCancel(context.Background())
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	var reaper sync.WaitGroup
	reaper.Go(func() { r.reapLoop(ctx, sigchld, slog.New(slog.DiscardHandler)) })
	defer func() { cancel(); reaper.Wait(); signal.Stop(sigchld) }()

	orphan := exec.Command("/bin/sh", "-c", "exit 0") // unregistered: the reaper's to take
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	awaitExit(orphan.Process.Pid)
	for i := range 3 {
		code := 10 + i
		cmd := exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(code))
		done := make(chan error, 1)
		go func() { done <- r.Start(cmd, start) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatalf("start %d waited over 10s behind a stuck start and a pending reap", i)
		}
		awaitExit(cmd.Process.Pid)
		err := cmd.Wait()
		r.Forget(cmd.Process.Pid)
		if got := cmd.ProcessState.ExitCode(); got != code {
			t.Fatalf("registered child %d: exit %d (Wait: %v), want %d: the reaper took its status", cmd.Process.Pid, got, err, code)
		}
	}
	close(release)
	if err := <-stuckDone; err == nil {
		t.Fatal("the stuck start reported success")
	}
	if !testwait.Until(testwait.Default, func() bool { return reapedBy(orphan.Process.Pid) }) {
		t.Errorf("the orphan %d was not reaped after the stuck start ended", orphan.Process.Pid)
	}
}

// awaitExit blocks until the process pid has exited, leaving it unreaped (WNOWAIT).
func awaitExit(pid int) {
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
}
