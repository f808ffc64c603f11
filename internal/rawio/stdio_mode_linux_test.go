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

// TestStdioGivesBackBlockingMode: stdin and stdout share their open file descriptions
// with whoever else holds them (the shell of `(jobsshd proxy ...; cat) | ...`, the next
// command of a script), so once Stdio's reader and writer are closed the descriptions
// are blocking again, as they were given; and not before both are, since stdin and
// stdout may be one socket (sshd gives a subsystem one socketpair end as both), whose
// writer would otherwise make a blocking raw call.
func TestStdioGivesBackBlockingMode(t *testing.T) {
	var in, out [2]int
	if err := unix.Pipe2(in[:], unix.O_CLOEXEC); err != nil { // blocking, as inherited
		t.Fatal(err)
	}
	if err := unix.Pipe2(out[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	inR, inW := os.NewFile(uintptr(in[0]), "in-r"), os.NewFile(uintptr(in[1]), "in-w")
	outR, outW := os.NewFile(uintptr(out[0]), "out-r"), os.NewFile(uintptr(out[1]), "out-w")
	defer func() { inR.Close(); inW.Close(); outR.Close(); outW.Close() }()
	r, w := Stdio(inR, outW)
	if !nonblocking(t, in[0]) || !nonblocking(t, out[1]) {
		t.Fatal("Stdio left stdin or stdout blocking: its raw calls could block")
	}
	if err := r.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if !nonblocking(t, out[1]) {
		t.Fatal("closing the reader made stdout blocking while its writer may still write")
	}
	if err := w.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if nonblocking(t, in[0]) || nonblocking(t, out[1]) {
		t.Errorf("after Close: stdin non-blocking %v, stdout non-blocking %v; want both blocking again",
			nonblocking(t, in[0]), nonblocking(t, out[1]))
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
