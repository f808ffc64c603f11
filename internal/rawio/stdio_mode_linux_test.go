package rawio

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// nonblocking reports whether fd's open file description is in non-blocking mode.
func nonblocking(t *testing.T, fd int) bool {
	t.Helper()
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fl&unix.O_NONBLOCK != 0
}

// pipe is an inherited, blocking pipe (as a child's stdin and stdout are).
type pipe struct {
	r, w     *os.File
	rfd, wfd int
}

// inheritedPipes returns two blocking pipes, closed when the test ends.
func inheritedPipes(t *testing.T) (in, out pipe) {
	t.Helper()
	for _, p := range []*pipe{&in, &out} {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil { // blocking, unlike os.Pipe
			t.Fatal(err)
		}
		p.rfd, p.wfd = fds[0], fds[1]
		p.r, p.w = os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
		t.Cleanup(func() { p.r.Close(); p.w.Close() })
	}
	return in, out
}

// TestStdioGivesBackBlockingMode: stdin and stdout share their open file descriptions
// with whoever else holds them (the shell of `(jobsshd proxy ...; cat) | ...`, the next
// command of a script), so once Stdio's reader and writer are closed the descriptions
// are blocking again, as they were given; and not before both are, since stdin and
// stdout may be one socket (sshd gives a subsystem one socketpair end as both), whose
// writer would otherwise make a blocking raw call.
func TestStdioGivesBackBlockingMode(t *testing.T) {
	in, out := inheritedPipes(t)
	r, w := Stdio(in.r, out.w)
	if !nonblocking(t, in.rfd) || !nonblocking(t, out.wfd) {
		t.Fatal("Stdio left stdin or stdout blocking: its raw calls could block")
	}
	if err := r.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if !nonblocking(t, out.wfd) {
		t.Fatal("closing the reader made stdout blocking while its writer may still write")
	}
	if err := w.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if nonblocking(t, in.rfd) || nonblocking(t, out.wfd) {
		t.Errorf("after Close: stdin non-blocking %v, stdout non-blocking %v; want both blocking again",
			nonblocking(t, in.rfd), nonblocking(t, out.wfd))
	}
	// A second Close changes nothing.
	_ = r.(io.Closer).Close()
	_ = w.(io.Closer).Close()

	// A description given non-blocking stays so.
	var nb [2]int
	if err := unix.Pipe2(nb[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	nbR, nbW := os.NewFile(uintptr(nb[0]), "nb-r"), os.NewFile(uintptr(nb[1]), "nb-w")
	defer func() { nbR.Close(); nbW.Close() }()
	r, w = Stdio(nbR, nbW)
	_ = r.(io.Closer).Close()
	_ = w.(io.Closer).Close()
	if !nonblocking(t, nb[0]) || !nonblocking(t, nb[1]) {
		t.Error("Stdio made descriptions that were given non-blocking blocking")
	}
}
