package rawio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readAtBounded is ReadAt(f, p, off), failing the test if it has not returned within
// a generous bound: a raw preadv2 that waited would hang here instead.
func readAtBounded(t *testing.T, what string, f *os.File, p []byte, off int64) (int, error) {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() { n, err := ReadAt(f, p, off); done <- result{n, err} }()
	select {
	case r := <-done:
		return r.n, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: ReadAt did not return within 10 s", what)
		return 0, nil
	}
}

// TestReadAtSpecialFiles: what an SFTP client may open besides a regular file (SFTP
// opens whatever path it is given) never makes ReadAt wait, and reads what an ordinary
// pread would: a character device, a FIFO, a /proc file, a tmpfs file, a terminal, in
// the file's non-blocking mode and after f.Fd() switched it to blocking mode (sftpd
// calls Fd for fsetstat and fstatvfs on the handle it reads).
func TestReadAtSpecialFiles(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		open := func(path string, flag int) *os.File {
			t.Helper()
			f, err := os.OpenFile(path, flag, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if blocking {
				_ = f.Fd()
			}
			return f
		}
		name := map[bool]string{false: "non-blocking", true: "blocking"}[blocking]

		zero := open("/dev/zero", os.O_RDONLY)
		p := bytes.Repeat([]byte{1}, 4096)
		if n, err := readAtBounded(t, "/dev/zero", zero, p, 100); n != len(p) || err != nil || !bytes.Equal(p, make([]byte, len(p))) {
			t.Errorf("%s /dev/zero: %d bytes, %v; want %d zero bytes", name, n, err, len(p))
		}
		null := open("/dev/null", os.O_RDONLY)
		if n, err := readAtBounded(t, "/dev/null", null, p, 0); n != 0 || err != io.EOF {
			t.Errorf("%s /dev/null: %d bytes, %v; want io.EOF", name, n, err)
		}

		status := open("/proc/self/status", os.O_RDONLY)
		if n, err := readAtBounded(t, "/proc/self/status", status, p[:5], 0); n != 5 || err != nil || string(p[:5]) != "Name:" {
			t.Errorf("%s /proc/self/status: %q, %v; want \"Name:\"", name, p[:n], err)
		}

		if dir := "/dev/shm"; dirExists(dir) {
			path := filepath.Join(dir, "rawio-readat-"+name)
			if err := os.WriteFile(path, []byte("tmpfs bytes"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(path) })
			f := open(path, os.O_RDONLY)
			q := make([]byte, 5)
			if n, err := readAtBounded(t, "tmpfs", f, q, 6); n != 5 || err != nil || string(q) != "bytes" {
				t.Errorf("%s tmpfs file: %q, %v; want \"bytes\"", name, q[:n], err)
			}
		}

		// A FIFO, empty and then with bytes in it: pread on a pipe is ESPIPE, at once.
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		ff := open(fifo, os.O_RDWR) // read-write: the open itself does not wait for a writer
		for _, fill := range []bool{false, true} {
			if fill {
				if _, err := ff.Write([]byte("fifo")); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := readAtBounded(t, "FIFO", ff, p, 0); n != 0 || !errors.Is(err, syscall.ESPIPE) {
				t.Errorf("%s FIFO (filled %v): %d bytes, %v; want ESPIPE", name, fill, n, err)
			}
		}

		// A terminal with nothing to read: its own read would wait for input.
		ptmx := open("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY)
		slave := ptySlave(t, ptmx)
		s := open(slave, os.O_RDWR|unix.O_NOCTTY)
		if n, err := readAtBounded(t, "terminal", s, p, 0); n != 0 || err == nil {
			t.Errorf("%s terminal: %d bytes, %v; want an error", name, n, err)
		}
	}
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// ptySlave unlocks the terminal whose master m is and returns its slave's path.
func ptySlave(t *testing.T, m *os.File) string {
	t.Helper()
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var cerr error
	_ = rc.Control(func(fd uintptr) {
		if cerr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); cerr != nil {
			return
		}
		n, cerr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	})
	if cerr != nil {
		t.Fatalf("unlock the terminal of /dev/ptmx: %v", cerr)
	}
	return "/dev/pts/" + strconv.Itoa(n)
}
