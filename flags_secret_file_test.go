package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJobSecretFileFIFODoesNotBlock: --job-secret-file is read as root; a FIFO planted at
// its path (in a directory someone else can write) fails at once instead of hanging the
// start forever.
func TestJobSecretFileFIFODoesNotBlock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := readJobSecretFile(path)
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
