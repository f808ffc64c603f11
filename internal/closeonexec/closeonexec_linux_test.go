package closeonexec

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// inheritedPipe opens a pipe and clears close-on-exec on both ends, as a descriptor
// inherited from a parent that did not set it would be.
func inheritedPipe(t *testing.T) [2]int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	fds := [2]int{int(r.Fd()), int(w.Fd())}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			t.Fatal(err)
		}
	}
	return fds
}

func TestMarksInheritedDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mark func() error
	}{
		{"close_range", AboveStderr},
		{"fallback loop over /proc/self/fd", markEach},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds := inheritedPipe(t)
			for _, fd := range fds {
				if on, err := isCloseOnExec(fd); err != nil || on {
					t.Fatalf("fd %d close-on-exec before = %v, %v; want false", fd, on, err)
				}
			}
			if err := tc.mark(); err != nil {
				t.Fatalf("mark: %v", err)
			}
			for _, fd := range fds {
				if on, err := isCloseOnExec(fd); err != nil || !on {
					t.Errorf("fd %d close-on-exec after = %v, %v; want true", fd, on, err)
				}
			}
			// stdin, stdout and stderr are the process's own: left as they were.
			for fd := 0; fd < firstInherited; fd++ {
				if on, err := isCloseOnExec(fd); err == nil && on {
					t.Errorf("fd %d marked close-on-exec; want 0-2 left alone", fd)
				}
			}
		})
	}
}
