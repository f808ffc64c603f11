package rawio

import (
	"net"
	"os"
	"testing"

	"jobsshd/internal/kernelstall"
	"jobsshd/internal/testenv"
)

func TestMain(m *testing.M) {
	switch os.Getenv(kernelstall.ChildEnv) {
	case "pipe":
		kernelstall.RunPipeChild(func(r *os.File) { _, _ = Reader(r).Read(make([]byte, 4096)) }) // the agent's copy loop
	case "unix":
		kernelstall.RunUnixChild(func(c net.Conn) { _, _ = NetConn(c).Read(make([]byte, 4096)) })
	}
	os.Exit(m.Run())
}

// TestPipeLockHeldByPeer: a pipe has one lock for both its ends, which the process at
// the other end holds while the kernel copies its bytes; a user's program whose write
// to its stdout faults on a page that takes long to come (a file mapped from a FUSE or
// network file system) so holds the lock of the pipe the agent reads. A raw read would
// then sleep in the kernel with the runtime's one processor, and nothing else in the
// agent would run: Reader leaves a pipe to the ordinary read, during which the runtime
// hands the processor on (package kernelstall stages it).
func TestPipeLockHeldByPeer(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := kernelstall.Check("pipe"); err != nil {
		t.Fatalf("rawio.Reader of a pipe: %v", err)
	}
}

// TestUnixSocketPeerSendsDescriptors: the process at the other end of a unix socket
// can send descriptors with its bytes; a read that does not take them drops them, and
// the last reference to a file is released before the read returns, however long that
// release waits (here, for a pipe's lock). NetConn leaves a unix socket to the ordinary
// read.
func TestUnixSocketPeerSendsDescriptors(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := kernelstall.Check("unix"); err != nil {
		t.Fatalf("rawio.NetConn of a unix socket: %v", err)
	}
}
