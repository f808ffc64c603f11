package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJobSecretFileFIFODoesNotBlock: a FIFO planted at the --job-secret-file path (in a
// directory someone else can write) fails at once with a clear error instead of hanging
// the start forever, whether the agent runs as root (jobtrust.ReadRootOnlyFile) or as
// the account (keys.ReadRegularFileFollow). Before, the file was opened with a plain
// os.Open, which blocks on a FIFO until a writer comes.
func TestJobSecretFileFIFODoesNotBlock(t *testing.T) {
	t.Parallel()
	for _, root := range []bool{true, false} {
		name := map[bool]string{true: "as root", false: "as the account"}[root]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if root && os.Geteuid() != 0 {
				t.Skip("needs root: the root-only reader refuses a non-root temp dir before it opens the file")
			}
			checkFIFORefusedPromptly(t, root)
		})
	}
}

// checkFIFORefusedPromptly reads a FIFO as --job-secret-file and wants a refusal that
// says it is not a regular file within 10s.
func checkFIFORefusedPromptly(t *testing.T, root bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := readJobSecretFileAs(path, root)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("got %v, want a refusal of the FIFO", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO as --job-secret-file still blocks after 10s") // the goroutine stays blocked until the test binary exits
	}
}
