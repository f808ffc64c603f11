package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runClientStdin is runClient with stdin read from the file stdin ("" means none).
func runClientStdin(t *testing.T, c clientRun, stdin string) sshResult {
	t.Helper()
	if stdin == "" {
		return runClient(t, c)
	}
	requireTool(t, c.Name, c.Package)
	f, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = f
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	res := sshResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s %s < %s: no exit within %v (%s)", c.Name, strings.Join(c.Args, " "), stdin, clientTimeout, res)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v", c.Name, err)
	}
	return res
}

// writeTempFile writes content to a new file named name in a fresh temp dir.
func writeTempFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeFile(t, path, content, 0o600)
	return path
}
