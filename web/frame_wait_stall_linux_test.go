package web

import (
	"net"
	"os"
	"testing"

	"jobsshd/internal/coalesce"
	"jobsshd/internal/kernelstall"
	"jobsshd/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(kernelstall.ChildEnv) == "unix" {
		kernelstall.RunUnixChild(func(c net.Conn) { newFrameWaitConn(&coalesce.Conn{Conn: c}, nil).waitFrame() })
	}
	os.Exit(m.Run())
}

// TestFrameWaitOnUnixSocket: an /ssh connection accepted on --web unix:PATH whose peer
// sends a descriptor whose release waits (here, for a pipe's lock) leaves the rest of
// the agent running: the frame wait reads a unix socket with an ordinary call.
func TestFrameWaitOnUnixSocket(t *testing.T) {
	testenv.RequireRoot(t, "a userfaultfd that holds a kernel copy needs CAP_SYS_PTRACE")
	if err := kernelstall.Check("unix"); err != nil {
		t.Fatalf("waitFrame on a unix socket: %v", err)
	}
}
