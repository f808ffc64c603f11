package agent

import (
	"io"
	"os"
	"testing"

	"jobsshd/internal/pipelock"
	"jobsshd/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(pipelock.ChildEnv) == "1" {
		pipelock.RunChild(func(r *os.File) { copyOutput(&copyPools{}, io.Discard, r, false) }) // a user's program's stdout
	}
	os.Exit(m.Run())
}

// TestProgramPipeLockHeldByProgram: a user's program that holds the lock of its stdout
// pipe (a write from a page of a file mapped from a FUSE or network file system, which
// takes long to come) leaves the rest of the agent running: copyOutput reads a user's
// program's pipe with ordinary calls (internal/rawio.Usable).
func TestProgramPipeLockHeldByProgram(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := pipelock.Check(); err != nil {
		t.Fatalf("copyOutput of a program's pipe: %v", err)
	}
}
