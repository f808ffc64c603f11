package sftpd

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// rawClient speaks SFTP to an in-process Server through pipes, one request at a time.
type rawClient struct {
	t    *testing.T
	in   io.WriteCloser // to the server
	out  io.Reader      // from the server
	id   uint32
	done chan error
}

func newRawClient(t *testing.T, home string) *rawClient {
	t.Helper()
	return newRawClientWithOptions(t, home, Options{})
}

func newRawClientWithOptions(t *testing.T, home string, opts Options) *rawClient {
	t.Helper()
	reqR, reqW := io.Pipe()
	repR, repW := io.Pipe()
	c := &rawClient{t: t, in: reqW, out: repR, done: make(chan error, 1)}
	go func() {
		err := NewServer(reqR, repW, home, opts).Serve()
		repW.CloseWithError(io.EOF)
		c.done <- err
	}()
	t.Cleanup(func() {
		reqW.Close()
		if err := <-c.done; err != nil {
			t.Errorf("server ended with %v, want a clean end", err)
		}
	})
	c.send(fxpInit, func(w *writer) {}, true)
	typ, _ := c.recv()
	if typ != fxpVersion {
		t.Fatalf("got packet type %d after INIT, want VERSION", typ)
	}
	return c
}

// send writes a request; for INIT there is no id (the version takes its place).
func (c *rawClient) send(typ byte, body func(*writer), init bool) uint32 {
	c.t.Helper()
	c.id++
	var w writer
	if init {
		w.start(typ, 3)
	} else {
		w.start(typ, c.id)
	}
	body(&w)
	if _, err := c.in.Write(w.finish()); err != nil {
		c.t.Fatal(err)
	}
	return c.id
}

func (c *rawClient) recv() (byte, *reader) {
	c.t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c.out, hdr[:]); err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.out, b); err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return b[0], &reader{b: b[1:]}
}

// call sends a request and returns the reply's type and fields after the id.
func (c *rawClient) call(typ byte, body func(*writer)) (byte, *reader) {
	c.t.Helper()
	id := c.send(typ, body, false)
	rt, r := c.recv()
	if got := r.uint32(); got != id {
		c.t.Fatalf("got reply id %d, want %d", got, id)
	}
	return rt, r
}

// status calls and expects a STATUS reply, returning its code and message.
func (c *rawClient) status(typ byte, body func(*writer)) (uint32, string) {
	c.t.Helper()
	rt, r := c.call(typ, body)
	if rt != fxpStatus {
		c.t.Fatalf("got reply type %d, want STATUS", rt)
	}
	return r.uint32(), r.string()
}

func (c *rawClient) open(path string, pflags uint32, perm uint32) string {
	c.t.Helper()
	rt, r := c.call(fxpOpen, func(w *writer) {
		w.string(path)
		w.uint32(pflags)
		w.attrs(fileAttrs{flags: attrPermissions, perm: perm})
	})
	if rt != fxpHandle {
		c.t.Fatalf("open %s: got reply type %d (code %d), want HANDLE", path, rt, r.uint32())
	}
	return r.string()
}

func TestOpenHonoursRequestedMode(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	c := newRawClient(t, home)
	tests := []struct {
		name string
		perm uint32
		want os.FileMode
	}{
		{"script stays executable", 0o755, 0o755 &^ umask(t)},
		{"private file", 0o600, 0o600},
	}
	for _, tt := range tests {
		h := c.open(tt.name, fxfWrite|fxfCreat|fxfTrunc, tt.perm)
		if code, msg := c.status(fxpClose, func(w *writer) { w.string(h) }); code != fxOK {
			t.Fatalf("close: %d %s", code, msg)
		}
		fi, err := os.Stat(filepath.Join(home, tt.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tt.want {
			t.Errorf("%s: got mode %v, want %v", tt.name, fi.Mode().Perm(), tt.want)
		}
	}
}

func umask(t *testing.T) os.FileMode {
	dir := t.TempDir()
	p := filepath.Join(dir, "probe")
	if err := os.WriteFile(p, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ fi.Mode().Perm()
}

func TestWriteReadRoundTrip(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	c := newRawClient(t, home)
	h := c.open("/"+filepath.Join(home, "data")[1:], fxfRead|fxfWrite|fxfCreat, 0o644)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640000 bytes: several READs
	const chunk = 200000
	for off := 0; off < len(payload); off += chunk {
		part := payload[off:min(off+chunk, len(payload))]
		if code, msg := c.status(fxpWrite, func(w *writer) { w.string(h); w.uint64(uint64(off)); w.bytes(part) }); code != fxOK {
			t.Fatalf("write at %d: %d %s", off, code, msg)
		}
	}
	var got []byte
	for {
		rt, r := c.call(fxpRead, func(w *writer) { w.string(h); w.uint64(uint64(len(got))); w.uint32(1 << 20) })
		if rt == fxpStatus {
			if code := r.uint32(); code != fxEOF {
				t.Fatalf("read: got status %d, want EOF", code)
			}
			break
		}
		data := r.bytes()
		if len(data) > maxReadWrite {
			t.Fatalf("got %d bytes in one DATA, want at most %d", len(data), maxReadWrite)
		}
		got = append(got, data...)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("got %d bytes back, want the %d written", len(got), len(payload))
	}
}

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "exists"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "other"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(home, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newRawClient(t, home)
	tests := []struct {
		name string
		typ  byte
		body func(*writer)
		want uint32
	}{
		{"stat missing", fxpStat, func(w *writer) { w.string("missing") }, fxNoSuchFile},
		{"remove missing", fxpRemove, func(w *writer) { w.string("missing") }, fxNoSuchFile},
		{"remove refuses a directory", fxpRemove, func(w *writer) { w.string("dir") }, fxFailure},
		{"rename onto an existing file", fxpRename, func(w *writer) { w.string("exists"); w.string("other") }, fxFailure},
		{"read a forged handle", fxpRead, func(w *writer) { w.string("999"); w.uint64(0); w.uint32(10) }, fxFailure},
		{"readdir a file handle", fxpReaddir, func(w *writer) { w.string("1") }, fxFailure},
		{"truncated request", fxpOpen, func(w *writer) { w.uint32(100) }, fxBadMessage},
		{"unknown request", 99, func(w *writer) {}, fxOpUnsupported},
		{"unknown extension", fxpExtended, func(w *writer) { w.string("copy-data") }, fxOpUnsupported},
		{"posix-rename replaces", fxpExtended, func(w *writer) {
			w.string("posix-rename@openssh.com")
			w.string("exists")
			w.string("other")
		}, fxOK},
	}
	for _, tt := range tests {
		if got, msg := c.status(tt.typ, tt.body); got != tt.want {
			t.Errorf("%s: got status %d (%s), want %d", tt.name, got, msg, tt.want)
		}
	}
}

func TestRealPath(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.Symlink(home, filepath.Join(home, "self")); err != nil {
		t.Fatal(err)
	}
	c := newRawClient(t, home)
	tests := []struct{ in, want string }{
		{"", home},
		{".", home},
		{"self/new-file", filepath.Join(home, "new-file")},
		{"/tmp/../tmp", "/tmp"},
	}
	for _, tt := range tests {
		rt, r := c.call(fxpRealpath, func(w *writer) { w.string(tt.in) })
		if rt != fxpName || r.uint32() != 1 {
			t.Fatalf("realpath %q: got reply type %d, want one NAME", tt.in, rt)
		}
		if got := r.string(); got != tt.want {
			t.Errorf("realpath %q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLimitsExtension(t *testing.T) {
	t.Parallel()
	c := newRawClient(t, t.TempDir())
	rt, r := c.call(fxpExtended, func(w *writer) { w.string("limits@openssh.com") })
	if rt != fxpExtendedReply {
		t.Fatalf("got reply type %d, want EXTENDED_REPLY", rt)
	}
	if pkt, rd, wr := r.uint64(), r.uint64(), r.uint64(); pkt != maxMessage || rd != maxReadWrite || wr != maxReadWrite {
		t.Errorf("got limits %d/%d/%d, want %d/%d/%d", pkt, rd, wr, maxMessage, maxReadWrite, maxReadWrite)
	}
}

func TestReaddirListsEverything(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	const n = 250 // more than one NAME batch
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(home, "f"+string(rune('a'+i%26))+strconv.Itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newRawClient(t, home)
	rt, r := c.call(fxpOpendir, func(w *writer) { w.string(".") })
	if rt != fxpHandle {
		t.Fatalf("opendir: got reply type %d", rt)
	}
	h := r.string()
	seen := 0
	for {
		rt, r := c.call(fxpReaddir, func(w *writer) { w.string(h) })
		if rt == fxpStatus {
			if code := r.uint32(); code != fxEOF {
				t.Fatalf("readdir: got status %d, want EOF", code)
			}
			break
		}
		count := r.uint32()
		for i := uint32(0); i < count; i++ {
			name, long := r.string(), r.string()
			r.attrs()
			if len(long) < 10 || long[0] != '-' || long[len(long)-len(name):] != name {
				t.Errorf("got long name %q for %q, want an ls -l line ending in the name", long, name)
			}
			seen++
		}
	}
	if seen != n {
		t.Errorf("got %d entries, want %d", seen, n)
	}
}

func TestOversizedRequestEndsSession(t *testing.T) {
	t.Parallel()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], maxMessage+1)
	err := NewServer(bytes.NewReader(hdr[:]), io.Discard, t.TempDir(), Options{}).Serve()
	if err == nil {
		t.Error("got a clean end for an oversized request, want an error")
	}
}

// FuzzServe feeds arbitrary request streams to a server: it must never panic nor end
// with anything but an error. Requests that change the filesystem are filtered out of
// the stream first: the fuzzer runs as root, and a generated absolute path must not
// remove or rename real files. What remains still drives every decoder and the
// read-only handlers.
func FuzzServe(f *testing.F) {
	var w writer
	w.start(fxpInit, 3)
	initPkt := append([]byte(nil), w.finish()...)
	f.Add(initPkt)
	for _, req := range []func(){
		func() { w.start(fxpStat, 1); w.string(".") },
		func() { w.start(fxpOpendir, 2); w.string(".") },
		func() { w.start(fxpReaddir, 3); w.string("1") },
		func() { w.start(fxpRealpath, 4); w.string("a/../b") },
		func() { w.start(fxpExtended, 5); w.string("statvfs@openssh.com"); w.string(".") },
		func() { w.start(fxpExtended, 6); w.string("expand-path@openssh.com"); w.string("~/x") },
		func() {
			w.start(fxpOpen, 7)
			w.string("x")
			w.uint32(fxfRead)
			w.attrs(fileAttrs{flags: attrSize | attrExtended})
		},
	} {
		req()
		f.Add(append(append([]byte(nil), initPkt...), w.finish()...))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		home := t.TempDir()
		_ = NewServer(bytes.NewReader(readOnlyRequests(stream)), io.Discard, home, Options{}).Serve() // errors are fine; panics are not
	})
}

// readOnlyRequests drops from a request stream every packet that could change the
// filesystem; the rest (including malformed packets) is kept byte for byte.
func readOnlyRequests(stream []byte) []byte {
	var out []byte
	for len(stream) >= 5 {
		n := int(binary.BigEndian.Uint32(stream))
		if n < 1 || n > len(stream)-4 {
			return append(out, stream...) // a truncated or oversized packet: keep, it changes nothing
		}
		pkt := stream[:4+n]
		stream = stream[4+n:]
		if mutates(pkt[4], pkt[5:]) {
			continue
		}
		out = append(out, pkt...)
	}
	return append(out, stream...)
}

func mutates(typ byte, body []byte) bool {
	switch typ {
	case fxpWrite, fxpSetstat, fxpFsetstat, fxpRemove, fxpMkdir, fxpRmdir, fxpRename, fxpSymlink:
		return true
	case fxpOpen:
		r := &reader{b: body}
		r.uint32()
		r.bytes()
		return r.uint32()&^fxfRead != 0 || r.err != nil
	case fxpExtended:
		r := &reader{b: body}
		r.uint32()
		switch r.string() {
		case "statvfs@openssh.com", "fstatvfs@openssh.com", "limits@openssh.com", "expand-path@openssh.com", "home-directory":
			return r.err != nil
		}
		return true
	}
	return false
}
