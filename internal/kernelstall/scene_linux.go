package kernelstall

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// ChildEnv makes a test binary's TestMain run a scene instead of the tests: RunPipeChild
// when it is "pipe", RunUnixChild when it is "unix".
const ChildEnv = "KERNELSTALL_CHILD"

func failChild(err error) {
	fmt.Println(err)
	os.Exit(1)
}

// RunPipeChild is the child's side of Check("pipe"): it makes a non-blocking pipe,
// holds its lock, starts read on the read end in a goroutine, and checks that the
// process still runs while that read waits for the lock; then it lets the lock go and
// closes the write end, so that a read to the end of the stream ends too. It prints
// "ok" and exits 0, or prints what failed and exits 1; it never returns.
func RunPipeChild(read func(r *os.File)) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		failChild(fmt.Errorf("pipe: %w", err))
	}
	release, err := Hold(p[1])
	if err != nil {
		failChild(err)
	}
	runScene(func() { read(os.NewFile(uintptr(p[0]), "pipe-r")) }, func() error {
		err := release()
		_ = unix.Close(p[1])
		return err
	})
}

// RunUnixChild is RunPipeChild for a unix socket, the agent's end of a forwarded
// connection (ssh-agent, streamlocal): the peer sent one byte and with it, in an
// SCM_RIGHTS message, the read end of a pipe whose lock is held, and closed its own
// copy. Reading the byte without taking descriptors drops the last reference to that
// pipe end, and the kernel releases it before the read returns to the program
// (task_work at the return to user mode), which waits for the pipe's lock.
func RunUnixChild(read func(c net.Conn)) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		failChild(fmt.Errorf("pipe: %w", err))
	}
	release, err := Hold(p[1])
	if err != nil {
		failChild(err)
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		failChild(fmt.Errorf("socketpair: %w", err))
	}
	if err := unix.Sendmsg(sp[1], []byte("x"), unix.UnixRights(p[0]), nil, 0); err != nil {
		failChild(fmt.Errorf("send the pipe's descriptor: %w", err))
	}
	_ = unix.Close(p[0])
	f := os.NewFile(uintptr(sp[0]), "unix")
	c, err := net.FileConn(f)
	if err != nil {
		failChild(err)
	}
	_ = f.Close()
	runScene(func() { read(c) }, func() error {
		err := release()
		_ = unix.Close(p[1])
		_ = unix.Close(sp[1])
		return err
	})
}

// runScene runs read in a goroutine, checks that the process still runs while it
// waits, then calls release and waits for read to end.
func runScene(read func(), release func() error) {
	done := make(chan struct{})
	go func() { read(); close(done) }()
	time.Sleep(200 * time.Millisecond) // the process's other goroutines must still run
	if err := release(); err != nil {
		failChild(err)
	}
	<-done
	fmt.Println("ok")
	os.Exit(0)
}

// Check runs the test binary again as a child with GOMAXPROCS=1 and ChildEnv set to
// scene (its TestMain runs that scene), and returns an error if the child froze
// (killed after 20 s) or failed.
func Check(scene string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), ChildEnv+"="+scene, "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("the process froze while a read it made waited in the kernel (killed after 20 s); output %q", out)
	}
	if err != nil || string(out) != "ok\n" {
		return fmt.Errorf("child: %v, output %q", err, out)
	}
	return nil
}
