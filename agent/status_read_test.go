package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testenv"
)

// TestReadStatusRefuses: what ReadStatus finds in place of status.json, or around it,
// that jobsshd never writes is refused with the fix, never followed or waited on.
func TestReadStatusRefuses(t *testing.T) {
	t.Parallel()
	valid := `{"pid": 1, "port": 22}`
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"symlink to a valid file", func(t *testing.T, dir string) {
			other := filepath.Join(t.TempDir(), "elsewhere.json")
			writeTestFile(t, other, valid, 0o644)
			if err := os.Symlink(other, filepath.Join(dir, StatusFileName)); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink"},
		{"FIFO", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, StatusFileName), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"huge", func(t *testing.T, dir string) {
			writeTestFile(t, filepath.Join(dir, StatusFileName), `{"pid": 1, "x": "`+strings.Repeat("a", maxStatusFile)+`"}`, 0o644)
		}, "over 1048576 bytes"},
		{"half written", func(t *testing.T, dir string) {
			writeTestFile(t, filepath.Join(dir, StatusFileName), `{"pid": 1, "po`, 0o644)
		}, "parse"},
		{"group-writable directory", func(t *testing.T, dir string) {
			writeTestFile(t, filepath.Join(dir, StatusFileName), valid, 0o644)
			if err := os.Chmod(dir, 0o770); err != nil {
				t.Fatal(err)
			}
		}, "chmod go-w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, dir)
			done := make(chan error, 1)
			go func() { _, err := ReadStatus(dir, os.Geteuid()); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("ReadStatus: got %v, want an error with %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadStatus still blocked after 10s")
			}
		})
	}
}

func TestReadStatusMissing(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{filepath.Join(t.TempDir(), "none"), t.TempDir()} {
		if _, err := ReadStatus(dir, os.Geteuid()); !errors.Is(err, ErrNoStatus) {
			t.Errorf("ReadStatus(%s): got %v, want ErrNoStatus", dir, err)
		}
	}
}

// TestStatusRunning: a status.json names a running agent only with its pid's start
// time; the test process stands for the agent.
func TestStatusRunning(t *testing.T) {
	t.Parallel()
	start, err := processStartTime("self")
	if err != nil {
		t.Fatal(err)
	}
	euid := os.Geteuid()
	tests := []struct {
		name string
		st   Status
		want bool
	}{
		{"this process", Status{PID: os.Getpid(), StartTime: start, BootID: bootID(), dirOwner: euid}, true},
		{"pid reused", Status{PID: os.Getpid(), StartTime: start + 1, BootID: bootID(), dirOwner: euid}, false},
		{"before a reboot", Status{PID: os.Getpid(), StartTime: start, BootID: "another-boot", dirOwner: euid}, false},
		{"no start time", Status{PID: os.Getpid(), dirOwner: euid}, false},
		{"no such pid", Status{PID: 1 << 30, StartTime: start, dirOwner: euid}, false},
		{"another uid's directory", Status{PID: os.Getpid(), StartTime: start, BootID: bootID(), dirOwner: euid + 1}, false},
	}
	for _, tt := range tests {
		if got, why := tt.st.Running(); got != tt.want {
			t.Errorf("%s: Running() = %v (%s), want %v", tt.name, got, why, tt.want)
		}
	}
}

// TestReadStatusPidOfAnotherUser: root reads the status.json of an agent run as a
// user, in that user's state directory, where the user may name any live process. A
// root process (this test) named there with its true start time is not taken for the
// agent; the same file in a directory of root's is.
func TestReadStatusPidOfAnotherUser(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t, "a state directory that belongs to another uid")
	start, err := processStartTime("self")
	if err != nil {
		t.Fatal(err)
	}
	content := fmt.Sprintf(`{"pid": %d, "start_time": %d, "boot_id": %q}`, os.Getpid(), start, bootID())
	for _, tt := range []struct {
		owner int
		want  bool
	}{{65534, false}, {0, true}} {
		dir := filepath.Join(t.TempDir(), "state")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, StatusFileName), content, 0o644)
		if err := os.Chown(dir, tt.owner, tt.owner); err != nil {
			t.Fatal(err)
		}
		st, err := ReadStatus(dir, 0)
		if err != nil {
			t.Fatalf("ReadStatus, directory of uid %d: %v", tt.owner, err)
		}
		if got, why := st.Running(); got != tt.want {
			t.Errorf("directory of uid %d naming a root process: Running() = %v (%s), want %v", tt.owner, got, why, tt.want)
		}
	}
}

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
