package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// leaveLingering runs a program that ignores the hangup on a connection of its own,
// ends the connection, and returns the program's pid; the test kills it at cleanup.
func leaveLingering(t *testing.T, srv *Server, signer ssh.Signer) int {
	t.Helper()
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
		t.Fatalf("got %q, %v; want the program's pid", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	client.Close() // the connection ends; the program ignores the hangup
	return pid
}

// programGone reports whether pid has ended (a zombie counts as ended).
func programGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	state := s[strings.LastIndexByte(s, ')')+2]
	return state == 'Z' || state == 'X'
}

// lingeringCount is how many programs the budget counts as left running.
func lingeringCount(srv *Server) int {
	srv.descriptors.mu.Lock()
	defer srv.descriptors.mu.Unlock()
	return srv.descriptors.lingering
}

// TestLingeringProgramsBounded: programs that ignore the hangup after their connection
// ended take places of maxLingering; when none is left, the next such program is killed
// instead of kept, so that a key holder cannot pile them up (each holds a thread and a
// descriptor of the agent) now that they no longer count as connections.
func TestLingeringProgramsBounded(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, nil)
	srv.descriptors.mu.Lock()
	srv.descriptors.perClass = 2 * descriptorsPerSession // room for one lingering program
	srv.descriptors.mu.Unlock()

	first := leaveLingering(t, srv, signer)
	if !testwait.Until(testwait.Default, func() bool { return lingeringCount(srv) == 1 }) {
		t.Fatal("the first program is not counted as lingering")
	}
	second := leaveLingering(t, srv, signer)
	if !testwait.Until(10*time.Second, func() bool { return programGone(second) }) {
		t.Fatalf("the second program that ignored the hangup still runs with no place left for it")
	}
	if programGone(first) {
		t.Error("the first program, which had a place, was killed")
	}
}

// TestLingeringProgramsLeaveSessionsRoom: programs left running after their connection
// ended hold what they really hold (their pidfd), not a whole session's descriptors,
// and at most half of the session budget's places: however many a user leaves behind,
// new sessions still open. Before, each kept its session's share until it ended, and
// a budget's worth of them (937 with an open-file limit of 20,000) left every later
// login "short of file descriptors" after their connections were gone.
func TestLingeringProgramsLeaveSessionsRoom(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, nil)
	const sessions = 4
	srv.descriptors.mu.Lock()
	srv.descriptors.perClass = sessions * descriptorsPerSession
	srv.descriptors.mu.Unlock()

	var pids []int
	for i := range sessions {
		pids = append(pids, leaveLingering(t, srv, signer))
		// Each program left behind holds at most its pidfd (one descriptor) once its
		// session was hung up, or nothing once it was killed.
		if !testwait.Until(testwait.Default, func() bool {
			srv.descriptors.mu.Lock()
			defer srv.descriptors.mu.Unlock()
			return srv.descriptors.used[classSession] <= i+1
		}) {
			srv.descriptors.mu.Lock()
			defer srv.descriptors.mu.Unlock()
			t.Fatalf("%d programs left running hold %d of the budget's %d session descriptors, want at most %d",
				i+1, srv.descriptors.used[classSession], srv.descriptors.perClass, i+1)
		}
	}
	client := dialClient(t, srv, signer)
	var open []*ssh.Session
	for i := range sessions / 2 {
		s, err := client.NewSession()
		if err != nil {
			t.Fatalf("new session %d after %d programs were left running: %v", i, sessions, err)
		}
		open = append(open, s)
	}
	for _, s := range open {
		s.Close()
	}
	running := 0
	for _, pid := range pids {
		if !programGone(pid) {
			running++
		}
	}
	if running > sessions/2 {
		t.Errorf("%d programs left running, want at most half the session budget (%d)", running, sessions/2)
	}
}
