package rawio

import (
	"os"
	"testing"

	"jobsshd/internal/pipelock"
	"jobsshd/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(pipelock.ChildEnv) == "1" {
		pipelock.RunChild(func(r *os.File) { _, _ = Reader(r).Read(make([]byte, 4096)) }) // the agent's copy loop
	}
	os.Exit(m.Run())
}

// TestPipeLockHeldByPeer: a pipe has one lock for both its ends, which the process at
// the other end holds while the kernel copies its bytes; a user's program whose write
// to its stdout faults on a page that takes long to come (a file mapped from a FUSE or
// network file system) so holds the lock of the pipe the agent reads. A raw read would
// then sleep in the kernel with the runtime's one processor, and nothing else in the
// agent would run: Reader leaves a pipe to the ordinary read, during which the runtime
// hands the processor on (package pipelock stages it).
func TestPipeLockHeldByPeer(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := pipelock.Check(); err != nil {
		t.Fatalf("rawio.Reader of a pipe: %v", err)
	}
}
