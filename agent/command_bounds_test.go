package agent

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// paddedCommand is command followed by a shell comment that makes it n bytes long.
func paddedCommand(command string, n int) string {
	command += " #"
	return command + strings.Repeat("x", n-len(command))
}

// TestExecCommandBounds: an exec command longer than maxExecCommand is refused with a
// reason on stderr, and the open sessions of one connection hold at most
// maxConnectionCommandBytes of commands, given back when a session ends.
func TestExecCommandBounds(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)

	// run returns what command wrote, or, when the exec request is refused, what the
	// server wrote to stderr before its refusal (x/crypto's Run returns without reading
	// it, but StderrPipe is the channel's own stream).
	run := func(command string) (string, bool) {
		s, err := client.NewSession()
		if err != nil {
			t.Fatalf("open session: %v", err)
		}
		defer s.Close()
		var stdout bytes.Buffer
		s.Stdout = &stdout
		stderr, err := s.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(command); err != nil {
			buf := make([]byte, 512)
			n, _ := io.ReadAtLeast(stderr, buf, 1)
			return string(buf[:n]), false
		}
		rest, _ := io.ReadAll(stderr)
		err = s.Wait()
		return stdout.String() + string(rest), err == nil
	}
	if out, ok := run(paddedCommand("echo longest", maxExecCommand)); !ok || out != "longest\n" {
		t.Errorf("a command of %d bytes: got %q, success %v; want it run", maxExecCommand, out, ok)
	}
	out, ok := run(paddedCommand("echo too long", maxExecCommand+1))
	if ok || !strings.Contains(out, "jobsshd: the command is 65537 bytes long; this server accepts at most 65536") {
		t.Errorf("a command of %d bytes: got %q, success %v; want it refused with the reason on stderr", maxExecCommand+1, out, ok)
	}

	// Two of the longest commands stay running; a third does not fit until one ends.
	var held []*ssh.Session
	for i := range 2 {
		s, err := client.NewSession()
		if err != nil {
			t.Fatalf("open session: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stdin, err := s.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close() })
		if err := s.Start(paddedCommand("cat", maxExecCommand)); err != nil {
			t.Fatalf("held command %d: %v", i, err)
		}
		held = append(held, s)
	}
	out, ok = run(paddedCommand("echo third", maxExecCommand/2))
	if ok || !strings.Contains(out, "would exceed 131072 bytes") {
		t.Errorf("a third command while two of the longest run: got %q, success %v; want it refused", out, ok)
	}
	held[0].Close()
	if !testwait.Until(testwait.Default, func() bool {
		out, ok := run(paddedCommand("echo third", maxExecCommand/2))
		return ok && out == "third\n"
	}) {
		t.Error("a command still refused after a session holding a long one ended")
	}
}
