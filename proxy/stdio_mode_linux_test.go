package proxy

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStdioGivesBackBlockingMode: stdin and stdout come in blocking (a shell's pipes,
// shared with the commands after `jobsshd proxy` in `(jobsshd proxy ...; cat) | ...`);
// the relay reads and writes them non-blocking, and once it ends they are blocking
// again.
func TestStdioGivesBackBlockingMode(t *testing.T) {
	s := echoServer(t, false)
	opts := Options{URL: strings.Replace(s.URL, "http://", "ws://", 1) + "/ssh", Token: "right"}
	var in, out [2]int
	if err := unix.Pipe2(in[:], unix.O_CLOEXEC); err != nil { // blocking, as a shell's
		t.Fatal(err)
	}
	if err := unix.Pipe2(out[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	inR, inW := os.NewFile(uintptr(in[0]), "in-r"), os.NewFile(uintptr(in[1]), "in-w")
	outR, outW := os.NewFile(uintptr(out[0]), "out-r"), os.NewFile(uintptr(out[1]), "out-w")
	defer func() { inR.Close(); inW.Close(); outR.Close(); outW.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Stdio(ctx, opts, inR, outW) }()
	if _, err := inW.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(outR, got); err != nil || string(got) != "hello" {
		t.Fatalf("read back %q, %v", got, err)
	}
	inW.Close() // ssh closed the connection
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Stdio: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Stdio did not end after stdin's EOF")
	}
	for _, fd := range []int{in[0], out[1]} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NONBLOCK != 0 {
			t.Errorf("descriptor %d left non-blocking (%v) for whoever shares it", fd, err)
		}
	}
}
