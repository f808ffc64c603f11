package rawio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pipePair is an os.Pipe, whose ends Go makes non-blocking and polls.
func pipePair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// tcpPair is a connected pair of loopback TCP connections.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// copyThrough writes data through w in pieces while r is read to the end, and returns
// what was read.
func copyThrough(t *testing.T, r io.Reader, w io.Writer, closeW func() error, data []byte) []byte {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 300_000) // more than a pipe or socket buffer holds
			if _, err := w.Write(rest[:n]); err != nil {
				_ = closeW() // ends the reader's ReadAll
				done <- err
				return
			}
			rest = rest[n:]
		}
		done <- closeW()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write: %v", err)
	}
	return got
}

func TestPipeRoundTrip(t *testing.T) {
	r, w := pipePair(t)
	if rr, ww := Reader(r), Writer(w); rr != io.Reader(r) || ww != io.Writer(w) {
		t.Fatalf("Reader, Writer(os.Pipe ends) = %T, %T; want the files themselves (TestPipeLockHeldByPeer)", rr, ww)
	}
	rr, ww := PipeReader(r), PipeWriter(w)
	if _, ok := rr.(*reader); !ok {
		t.Fatalf("PipeReader(os.Pipe end) = %T, want the raw reader", rr)
	}
	if _, ok := ww.(*writer); !ok {
		t.Fatalf("PipeWriter(os.Pipe end) = %T, want the raw writer", ww)
	}
	data := randomBytes(t, 8<<20)
	if got := copyThrough(t, rr, ww, w.Close, data); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
}

// TestSocketWriteWaitsWhileFull writes far more than the socket buffers hold to a
// peer that reads slowly: the writer must wait in the poller and resume, losing and
// repeating nothing.
func TestSocketWriteWaitsWhileFull(t *testing.T) {
	a, b := tcpPair(t)
	data := randomBytes(t, 16<<20)
	slow := readerFunc(func(p []byte) (int, error) {
		time.Sleep(time.Millisecond) // lets the sender fill the buffers between reads
		return Reader(b).Read(p)
	})
	if got := copyThrough(t, slow, Writer(a), a.CloseWrite, data); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestReadDeadline: a deadline set on the connection ends a raw read that waits.
func TestReadDeadline(t *testing.T) {
	a, _ := tcpPair(t)
	if err := a.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := Reader(a).Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v is not a net.Error timeout", err)
	}
}

// TestCloseEndsWaitingRead: closing the connection ends a raw read that waits.
func TestCloseEndsWaitingRead(t *testing.T) {
	a, _ := tcpPair(t)
	errc := make(chan error, 1)
	go func() { _, err := Reader(a).Read(make([]byte, 10)); errc <- err }()
	time.Sleep(20 * time.Millisecond) // the read is waiting by then, or not yet started: either way it must end
	a.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read of a closed connection: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read waiting on a closed connection did not end")
	}
}

func TestEOFAndEPIPE(t *testing.T) {
	r, w := pipePair(t)
	w.Close()
	if n, err := PipeReader(r).Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read of a pipe with no writer: %d, %v; want 0, io.EOF", n, err)
	}
	r2, w2 := pipePair(t)
	r2.Close()
	if _, err := PipeWriter(w2).Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a pipe with no reader: %v, want EPIPE", err)
	}
}

// TestBlockingDescriptorIsNotWrapped: a raw read of a blocking descriptor would stall
// its thread without the scheduler knowing, so such a descriptor is left as it is.
func TestBlockingDescriptorIsNotWrapped(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil { // blocking, unlike os.Pipe
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	defer r.Close()
	defer w.Close()
	if got := PipeReader(r); got != io.Reader(r) {
		t.Fatalf("PipeReader(blocking pipe) = %T, want the file itself", got)
	}
	if got := PipeWriter(w); got != io.Writer(w) {
		t.Fatalf("PipeWriter(blocking pipe) = %T, want the file itself", got)
	}
	var buf bytes.Buffer
	if got := Reader(&buf); got != io.Reader(&buf) {
		t.Fatalf("Reader(bytes.Buffer) = %T, want it unchanged", got)
	}
}

func TestNetConn(t *testing.T) {
	a, b := tcpPair(t)
	ra, rb := NetConn(a), NetConn(b)
	if _, ok := ra.(*netConn); !ok {
		t.Fatalf("NetConn(TCP) = %T, want the raw connection", ra)
	}
	if _, ok := ra.(syscall.Conn); !ok {
		t.Fatal("NetConn(TCP) lost SyscallConn, which code that waits on the socket needs")
	}
	data := randomBytes(t, 4<<20)
	if got := copyThrough(t, rb, ra, a.CloseWrite, data); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := NetConn(p1); got != p1 {
		t.Fatalf("NetConn(net.Pipe) = %T, want it unchanged", got)
	}
}

// TestRegularFileIsNotWrapped: a regular file's reads wait for the disk even in
// non-blocking mode, so a raw call on it could stall its thread.
func TestRegularFileIsNotWrapped(t *testing.T) {
	f, err := os.OpenFile(t.TempDir()+"/f", os.O_RDWR|os.O_CREATE|unix.O_NONBLOCK, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := Reader(f); got != io.Reader(f) {
		t.Fatalf("Reader(regular file) = %T, want the file itself", got)
	}
	if got := Writer(f); got != io.Writer(f) {
		t.Fatalf("Writer(regular file) = %T, want the file itself", got)
	}
}

// TestStdio: inherited blocking pipes (as a child's stdin and stdout are) become
// pollable raw ones; a regular file is left alone.
func TestStdio(t *testing.T) {
	in, out := inheritedPipes(t)
	inW, outR := in.w, out.r
	r, w := Stdio(in.r, out.w)
	defer w.(io.Closer).Close()
	if _, ok := r.(*closingReader); !ok {
		t.Fatalf("Stdio: stdin %T, want the raw reader", r)
	}
	if _, ok := w.(*closingWriter); !ok {
		t.Fatalf("Stdio: stdout %T, want the raw writer", w)
	}
	go func() { _, _ = inW.Write([]byte("request")) }()
	got := make([]byte, len("request"))
	if _, err := io.ReadFull(r, got); err != nil || string(got) != "request" {
		t.Fatalf("read %q, %v", got, err)
	}
	go func() { _, _ = w.Write([]byte("reply")) }()
	got = make([]byte, len("reply"))
	if _, err := io.ReadFull(outR, got); err != nil || string(got) != "reply" {
		t.Fatalf("wrote %q, %v", got, err)
	}
	// Closing the reader ends a Read waiting on it; the process's own descriptor stays.
	errc := make(chan error, 1)
	go func() { _, err := r.Read(make([]byte, 10)); errc <- err }()
	time.Sleep(20 * time.Millisecond) // the Read waits by then, or starts after Close: it must end either way
	if err := r.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a Read of a closed stdin succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing Stdio's reader did not end the Read waiting on it")
	}
	if _, err := inW.Write([]byte("x")); err != nil {
		t.Fatalf("the process's own stdin was closed with the duplicate: %v", err)
	}
	f, err := os.Create(t.TempDir() + "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r, w := Stdio(f, f); r != io.Reader(f) || w != io.Writer(f) {
		t.Fatalf("Stdio(regular file) = %T, %T, want the file itself", r, w)
	}
}

// TestNoAllocationPerCall: a Read or Write allocates nothing, however small, or a
// stream read a few bytes at a time would feed the collector megabytes (a 16 MiB
// WebSocket frame skipped through a 16-byte bufio.Reader grew the agent by 16 MiB).
func TestNoAllocationPerCall(t *testing.T) {
	a, b := tcpPair(t)
	ra, rb := NetConn(a), NetConn(b)
	one := []byte{1}
	got := make([]byte, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := ra.Write(one); err != nil {
			t.Fatal(err)
		}
		if _, err := rb.Read(got); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per 1-byte Write and Read, want 0", allocs)
	}
}

// TestReadAt: a file's bytes come back whole from the page cache, past its end as
// io.EOF and short at its end, as os.File.ReadAt gives them; and a file the cache does
// not hold is read by the ordinary call after preadv2(RWF_NOWAIT) has declined.
func TestReadAt(t *testing.T) {
	// In the package's directory: t.TempDir() may be on a tmpfs, which is all cache.
	dir, err := os.MkdirTemp(".", "readat-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data := randomBytes(t, 4<<20)
	path := dir + "/f"
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := func(what string, off int64, size, wantN int, wantErr error) {
		t.Helper()
		p := make([]byte, size)
		n, err := ReadAt(f, p, off)
		want := data[min(off, int64(len(data))):min(off+int64(wantN), int64(len(data)))]
		if n != wantN || err != wantErr || !bytes.Equal(p[:n], want) {
			t.Errorf("%s: %d bytes (want %d), %v (want %v), the file's bytes: %v", what, n, wantN, err, wantErr, bytes.Equal(p[:n], want))
		}
	}
	if n, ok := preadCached(f, make([]byte, 1<<20), 0); !ok || n != 1<<20 {
		t.Fatalf("preadCached of a file just written: %d, %v; want the page cache to answer", n, ok)
	}
	check("cached", 12345, 1<<20, 1<<20, nil)
	check("the end", int64(len(data))-100, 1000, 100, io.EOF)
	check("past the end", int64(len(data))+10, 1000, 0, io.EOF)

	// Drop the file's pages from the cache: preadCached must then decline (EAGAIN)
	// rather than wait for the disk, and ReadAt must still read the bytes.
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.Fadvise(int(fd), 0, 0, unix.FADV_DONTNEED) })
	if n, ok := preadCached(f, make([]byte, 1<<20), 2<<20); ok {
		t.Errorf("preadCached of pages just dropped from the cache read %d bytes; want it to decline", n)
	}
	check("not cached", 2<<20, 1<<20, 1<<20, nil)
}
