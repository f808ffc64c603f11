package agent

import (
	"io"
	"net"
	"os"
	"testing"

	"jobsshd/internal/kernelstall"
	"jobsshd/internal/testenv"
)

func TestMain(m *testing.M) {
	switch os.Getenv(kernelstall.ChildEnv) {
	case "pipe":
		kernelstall.RunPipeChild(func(r *os.File) { copyOutput(&copyPools{}, io.Discard, r, false) }) // a user's program's stdout
	case "unix":
		kernelstall.RunUnixChild(func(c net.Conn) { _, _ = (&copyPools{}).copyStream(io.Discard, c) }) // a forwarded unix socket
	}
	os.Exit(m.Run())
}

// TestProgramPipeLockHeldByProgram: a user's program that holds the lock of its stdout
// pipe (a write from a page of a file mapped from a FUSE or network file system, which
// takes long to come) leaves the rest of the agent running: copyOutput reads a user's
// program's pipe with ordinary calls (internal/rawio.Usable).
func TestProgramPipeLockHeldByProgram(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := kernelstall.Check("pipe"); err != nil {
		t.Fatalf("copyOutput of a program's pipe: %v", err)
	}
}

// TestForwardedUnixSocketSendsDescriptors: a user's process at the other end of a
// forwarded unix socket (ssh-agent forwarding, streamlocal) that sends a descriptor
// whose release waits leaves the rest of the agent running: the forward's copy reads
// a unix socket with ordinary calls (internal/rawio.Usable).
func TestForwardedUnixSocketSendsDescriptors(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := kernelstall.Check("unix"); err != nil {
		t.Fatalf("copyStream of a unix socket: %v", err)
	}
}
