package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLingeringProgramsBounded: programs that ignore the hangup after their connection
// ended take places of maxLingeringPrograms; when none is left, the next such program
// is killed instead of kept, so that a key holder cannot pile them up (each holds a
// thread and a descriptor of the agent) now that they no longer count as connections.
func TestLingeringProgramsBounded(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, nil)
	srv.mu.Lock() // ordered before the connections' goroutines by track's lock
	srv.lingering = make(chan struct{}, 1)
	srv.mu.Unlock()

	var pids []int
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for i := range 2 {
		client, err := dial(t, srv, "tester", signer)
		if err != nil {
			t.Fatal(err)
		}
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(`trap '' HUP; echo $$; exec sleep 60`); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		pid, perr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || perr != nil {
			t.Fatalf("program %d: got %q, %v; want its pid", i, line, err)
		}
		pids = append(pids, pid)
		client.Close() // the connection ends; the program ignores the hangup
	}
	gone := func(pid int) bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		s := string(b)
		state := s[strings.LastIndexByte(s, ')')+2]
		return state == 'Z' || state == 'X'
	}
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pids[1]) {
		if time.Now().After(deadline) {
			t.Fatalf("the second program that ignored the hangup still runs with no place left for it")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if gone(pids[0]) {
		t.Error("the first program, which had a place, was killed")
	}
}
