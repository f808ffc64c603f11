package sftpd

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"jobsshd/internal/testenv"
)

// FuzzSFTPServer feeds arbitrary request streams to the SFTP server, which parses every
// packet a client sends (the framing, then each request's fields and attributes). What
// must hold, whatever the stream:
//   - no panic, and Serve returns once the input ends;
//   - one reply per request, in order, with the request's id (VERSION for INIT), and
//     Serve ends with an error exactly when the stream is malformed (a bad length, a
//     request without an id, a truncated packet);
//   - every reply fits in maxMessage, what OpenSSH's client accepts (SFTP_MAX_MSG_LENGTH);
//   - every handle is closed when the stream ends (no descriptor left open);
//   - every audit event is one JSON line with a known name and an absolute path.
//
// With short set, the input's packets have 2-byte lengths that the harness widens to
// the protocol's 4: random mutations then mostly change requests, not break framing.
//
// The server runs as root in CI and the stream names any path, so it runs on a locked
// OS thread that has its own file system context (unshare CLONE_FS) chrooted into a
// temporary directory: the rest of the machine is out of its reach.
func FuzzSFTPServer(f *testing.F) {
	testenv.RequireRoot(f, "to chroot the fuzzed server away from the machine's files")
	for _, seed := range sftpSeedSessions() {
		f.Add(seed, false)
		f.Add(shortFramed(seed), true)
	}
	root := f.TempDir()
	confined := newConfinedThread(f, root)
	f.Fuzz(func(t *testing.T, stream []byte, short bool) {
		if short {
			stream = reframe(stream)
		}
		makeFuzzTree(t, root)
		fdsBefore := openDescriptors(t)
		var out replyScanner
		var events bytes.Buffer
		var serveErr error
		confined.run(func() {
			srv := NewServerWithOptions(bytes.NewReader(stream), &out, "/home", Options{Events: NewJSONEventSink(&events)})
			serveErr = srv.Serve()
		})
		if fds := openDescriptors(t); fds != fdsBefore {
			t.Errorf("got %d open descriptors after the session, want %d as before it", fds, fdsBefore)
		}
		want, malformed := expectedReplies(stream)
		if malformed != (serveErr != nil) {
			t.Errorf("Serve returned %v for a stream that is malformed: %v", serveErr, malformed)
		}
		checkReplies(t, &out, want, malformed)
		checkEventLines(t, events.Bytes())
	})
}

// confinedThread runs functions on one locked OS thread whose file system context
// (root and working directory) is its own (unshare CLONE_FS) and chrooted: what they
// do to paths stays inside the root. One thread serves every run: a thread per run
// made the fuzzing engine's workers crawl.
type confinedThread struct {
	fns  chan func()
	done chan struct{}
}

func newConfinedThread(f *testing.F, root string) *confinedThread {
	f.Helper()
	c := &confinedThread{fns: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, taking its
		// chroot with it, and no other goroutine ever runs on it.
		runtime.LockOSThread()
		err := unix.Unshare(unix.CLONE_FS)
		if err == nil {
			err = unix.Chroot(root)
		}
		if err == nil {
			err = unix.Chdir("/")
		}
		ready <- err
		if err != nil {
			return
		}
		for fn := range c.fns {
			fn()
			c.done <- struct{}{}
		}
	}()
	if err := <-ready; err != nil {
		f.Fatalf("confine the fuzzed server to %s: %v", root, err)
	}
	f.Cleanup(func() { close(c.fns) })
	return c
}

// run calls fn on the confined thread and returns when it has returned.
func (c *confinedThread) run(fn func()) {
	c.fns <- fn
	<-c.done
}

// reframe turns packets with 2-byte lengths into the protocol's 4-byte framing; a
// truncated tail is kept as it is.
func reframe(in []byte) []byte {
	var out []byte
	for len(in) >= 2 {
		n := int(binary.BigEndian.Uint16(in))
		in = in[2:]
		if n > len(in) {
			break
		}
		out = binary.BigEndian.AppendUint32(out, uint32(n))
		out = append(out, in[:n]...)
		in = in[n:]
	}
	return append(out, in...)
}

// shortFramed is the inverse of reframe for a well-framed stream of small packets.
func shortFramed(stream []byte) []byte {
	var out []byte
	for len(stream) >= 4 {
		n := binary.BigEndian.Uint32(stream)
		if n > 0xffff || uint64(len(stream)-4) < uint64(n) {
			break
		}
		out = binary.BigEndian.AppendUint16(out, uint16(n))
		out = append(out, stream[4:4+n]...)
		stream = stream[4+n:]
	}
	return append(out, stream...)
}

// expectedReply is what the reply to one request must carry.
type expectedReply struct {
	version bool   // VERSION, the reply to INIT
	id      uint32 // otherwise the request's id
}

// expectedReplies frames stream as the protocol does (draft-ietf-secsh-filexfer-02 §3)
// and lists the replies its requests must get, and whether it is malformed: the server
// stops at the first bad frame, or at a request without an id.
func expectedReplies(stream []byte) (want []expectedReply, malformed bool) {
	for len(stream) > 0 {
		if len(stream) < 4 {
			return want, true
		}
		n := binary.BigEndian.Uint32(stream)
		if n < 1 || n > maxMessage || uint64(len(stream)-4) < uint64(n) {
			return want, true
		}
		pkt := stream[4 : 4+n]
		stream = stream[4+n:]
		if pkt[0] == fxpInit {
			want = append(want, expectedReply{version: true})
			continue
		}
		if len(pkt) < 5 {
			return want, true
		}
		want = append(want, expectedReply{id: binary.BigEndian.Uint32(pkt[1:5])})
	}
	return want, false
}

// replyHead is what FuzzSFTPServer checks of a reply: its type and id (the version
// for VERSION).
type replyHead struct {
	typ byte
	id  uint32
}

// replyScanner is the server's output: it frames the replies as they are written and
// keeps only their heads, so that a stream of READ requests does not make the test hold
// every byte read.
type replyScanner struct {
	heads []replyHead
	head  []byte // the first bytes of the reply being written, up to its id
	skip  uint64 // what is left of the reply after its head
	err   error  // a reply that is not well framed
}

func (r *replyScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && r.err == nil {
		if r.skip > 0 {
			k := min(r.skip, uint64(len(p)))
			r.skip -= k
			p = p[k:]
			continue
		}
		k := min(9-len(r.head), len(p))
		r.head = append(r.head, p[:k]...)
		p = p[k:]
		if len(r.head) < 9 {
			continue
		}
		size := binary.BigEndian.Uint32(r.head)
		if size < 5 || size > maxMessage {
			r.err = fmt.Errorf("reply %d: got a length of %d, want 5 to %d", len(r.heads), size, maxMessage)
			break
		}
		r.heads = append(r.heads, replyHead{typ: r.head[4], id: binary.BigEndian.Uint32(r.head[5:9])})
		r.skip = uint64(size) - 5
		r.head = r.head[:0]
	}
	return n, nil
}

// checkReplies checks that out is exactly the replies listed in want, each well framed
// and of a reply type. After a malformed stream a prefix of them will do: like
// OpenSSH's sftp-server, which exits on a bad message without sending what it has
// queued, the server ends the session without flushing.
func checkReplies(t *testing.T, out *replyScanner, want []expectedReply, malformed bool) {
	t.Helper()
	if out.err != nil {
		t.Fatal(out.err)
	}
	if len(out.head) > 0 || out.skip > 0 {
		t.Fatalf("got a reply cut short after %d whole ones", len(out.heads))
	}
	if len(out.heads) > len(want) || len(out.heads) < len(want) && !malformed {
		t.Fatalf("got %d replies, want %d", len(out.heads), len(want))
	}
	for i, got := range out.heads {
		w := want[i]
		switch {
		case w.version:
			if got.typ != fxpVersion || got.id != 3 {
				t.Fatalf("reply %d: got type %d version %d, want VERSION 3", i, got.typ, got.id)
			}
		case got.typ < fxpStatus || got.typ > fxpAttrs && got.typ != fxpExtendedReply:
			t.Fatalf("reply %d: got type %d, want a reply type", i, got.typ)
		case got.id != w.id:
			t.Fatalf("reply %d: got id %d, want %d", i, got.id, w.id)
		}
	}
}

// checkEventLines checks the audit events the server wrote: whole JSON lines, each a
// known event with an absolute path (the agent drops anything else).
func checkEventLines(t *testing.T, events []byte) {
	t.Helper()
	known := map[string]bool{EventOpen: true, EventClose: true, EventRemove: true, EventRename: true,
		EventMkdir: true, EventRmdir: true, EventSetstat: true, EventSymlink: true, EventLink: true}
	if len(events) > 0 && events[len(events)-1] != '\n' {
		t.Fatalf("got events ending in an unterminated line: %q", events)
	}
	for _, line := range bytes.SplitAfter(events, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("got event line %q: %v", line, err)
		}
		if !known[ev.Name] || !strings.HasPrefix(ev.Path, "/") {
			t.Fatalf("got event %+v, want a known name and an absolute path", ev)
		}
	}
}

// makeFuzzTree empties root and gives it what a home holds: a file, a directory, a symlink that
// points out of the home and one that dangles.
func makeFuzzTree(t *testing.T, root string) {
	t.Helper()
	makeWritable(t, root)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(root, "home")
	for _, dir := range []string{home, filepath.Join(home, "dir"), filepath.Join(root, "etc")} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, content := range map[string]string{
		filepath.Join(home, "file"):          "hello\n",
		filepath.Join(home, "dir", "data"):   strings.Repeat("x", 5000),
		filepath.Join(root, "etc", "passwd"): "root:x:0:0:root:/root:/bin/sh\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		filepath.Join(home, "up"):       "../etc/passwd",
		filepath.Join(home, "dangling"): "nowhere",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	// Whatever modes the stream sets, the next run and f.TempDir's cleanup must be
	// able to remove it.
	t.Cleanup(func() { makeWritable(t, root) })
}

// openDescriptors counts the process's open descriptors.
func openDescriptors(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// sftpSeedSessions are request streams in the order OpenSSH's sftp(1) sends them for
// common commands (ls, put, get, rename, mkdir, ln -s, chmod, df), plus the extensions
// the server announces.
func sftpSeedSessions() [][]byte {
	var w writer
	var s []byte
	id := uint32(0)
	req := func(typ byte, body func(w *writer)) {
		id++
		w.start(typ, id)
		body(&w)
		s = append(s, w.finish()...)
	}
	ext := func(name string, body func(w *writer)) {
		req(fxpExtended, func(w *writer) { w.string(name); body(w) })
	}
	handle := func(n uint64) string { return strconv.FormatUint(n, 10) } // as addHandle names them
	w.start(fxpInit, 3)
	s = append(s, w.finish()...)
	init := append([]byte(nil), s...)
	var seeds [][]byte
	next := func() { seeds = append(seeds, s); s = append([]byte(nil), init...); id = 0 }

	// ls -l
	req(fxpRealpath, func(w *writer) { w.string(".") })
	ext("expand-path@openssh.com", func(w *writer) { w.string("~/dir") })
	req(fxpStat, func(w *writer) { w.string("/home/dir") })
	req(fxpOpendir, func(w *writer) { w.string("/home/dir") })
	req(fxpReaddir, func(w *writer) { w.string(handle(1)) })
	req(fxpReaddir, func(w *writer) { w.string(handle(1)) })
	req(fxpClose, func(w *writer) { w.string(handle(1)) })
	next()

	// put, then get it back, with times and modes (put -p)
	req(fxpOpen, func(w *writer) {
		w.string("new")
		w.uint32(fxfWrite | fxfCreat | fxfTrunc)
		w.attrs(fileAttrs{flags: attrPermissions, perm: 0o644})
	})
	req(fxpWrite, func(w *writer) { w.string(handle(1)); w.uint64(0); w.string("contents\n") })
	req(fxpFsetstat, func(w *writer) {
		w.string(handle(1))
		w.attrs(fileAttrs{flags: attrACModTime | attrPermissions, atime: 1700000000, mtime: 1700000000, perm: 0o600})
	})
	ext("fsync@openssh.com", func(w *writer) { w.string(handle(1)) })
	req(fxpClose, func(w *writer) { w.string(handle(1)) })
	req(fxpOpen, func(w *writer) { w.string("new"); w.uint32(fxfRead); w.attrs(fileAttrs{}) })
	req(fxpFstat, func(w *writer) { w.string(handle(2)) })
	req(fxpRead, func(w *writer) { w.string(handle(2)); w.uint64(0); w.uint32(maxReadWrite) })
	req(fxpRead, func(w *writer) { w.string(handle(2)); w.uint64(9); w.uint32(maxReadWrite) })
	next()

	// rename, mkdir, ln -s, readlink, chmod, chown, truncate, df, rm, rmdir
	req(fxpRename, func(w *writer) { w.string("file"); w.string("moved") })
	ext("posix-rename@openssh.com", func(w *writer) { w.string("moved"); w.string("file") })
	ext("hardlink@openssh.com", func(w *writer) { w.string("file"); w.string("linked") })
	req(fxpMkdir, func(w *writer) { w.string("sub"); w.attrs(fileAttrs{flags: attrPermissions, perm: 0o755}) })
	req(fxpSymlink, func(w *writer) { w.string("sub/link"); w.string("../file") })
	req(fxpReadlink, func(w *writer) { w.string("up") })
	req(fxpSetstat, func(w *writer) { w.string("file"); w.attrs(fileAttrs{flags: attrPermissions, perm: 0o600}) })
	req(fxpSetstat, func(w *writer) { w.string("file"); w.attrs(fileAttrs{flags: attrUIDGID, uid: 0, gid: 0}) })
	req(fxpSetstat, func(w *writer) { w.string("file"); w.attrs(fileAttrs{flags: attrSize, size: 2}) })
	ext("lsetstat@openssh.com", func(w *writer) {
		w.string("dangling")
		w.attrs(fileAttrs{flags: attrACModTime, atime: 1, mtime: 2})
	})
	ext("statvfs@openssh.com", func(w *writer) { w.string(".") })
	ext("limits@openssh.com", func(w *writer) {})
	ext("home-directory", func(w *writer) { w.string("") })
	req(fxpLstat, func(w *writer) { w.string("sub/link") })
	req(fxpRemove, func(w *writer) { w.string("sub/link") })
	req(fxpRmdir, func(w *writer) { w.string("sub") })
	req(fxpRemove, func(w *writer) { w.string("linked") })
	next()

	// a malformed tail: a request without an id after a good one
	req(fxpRealpath, func(w *writer) { w.string("..") })
	s = append(s, 0, 0, 0, 1, fxpStat)
	next()
	return seeds
}
