package pipelock

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// ChildEnv makes a test binary's TestMain call RunChild instead of the tests.
const ChildEnv = "PIPELOCK_CHILD"

// RunChild is the child's side of Check: it makes a non-blocking pipe, holds its lock,
// starts read on the read end in a goroutine, and checks that the process still runs
// while that read waits for the lock; then it lets the lock go and closes the write
// end, so that a read to the end of the stream ends too. It prints "ok" and
// exits 0, or prints what failed and exits 1; it never returns.
func RunChild(read func(r *os.File)) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		fmt.Println("pipe:", err)
		os.Exit(1)
	}
	release, err := Hold(p[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	done := make(chan struct{})
	go func() { read(os.NewFile(uintptr(p[0]), "pipe-r")); close(done) }()
	time.Sleep(200 * time.Millisecond) // the process's other goroutines must still run
	if err := release(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	_ = unix.Close(p[1])
	<-done
	fmt.Println("ok")
	os.Exit(0)
}

// Check runs the test binary again as a child with GOMAXPROCS=1 and ChildEnv set
// (its TestMain calls RunChild), and returns an error if the child froze (killed after
// 20 s) or failed.
func Check() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), ChildEnv+"=1", "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("the process froze while another held the lock of a pipe it read (killed after 20 s); output %q", out)
	}
	if err != nil || string(out) != "ok\n" {
		return fmt.Errorf("child: %v, output %q", err, out)
	}
	return nil
}
