package sftpd

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// eventRecorder is an EventSink that keeps what it receives.
type eventRecorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *eventRecorder) sink(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// take returns the events received since the last take.
func (r *eventRecorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.events
	r.events = nil
	return got
}

func checkEvents(t *testing.T, what string, got, want []Event) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got events\n%+v\nwant\n%+v", what, got, want)
	}
}

func TestSFTPEvents(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	var rec eventRecorder
	c := newRawClientWithOptions(t, home, Options{Events: rec.sink})
	abs := func(name string) string { return filepath.Join(home, name) }
	ok := func(what string, code uint32, msg string) {
		t.Helper()
		if code != fxOK {
			t.Fatalf("%s: got status %d %q, want OK", what, code, msg)
		}
	}

	h := c.open("up.bin", fxfWrite|fxfCreat|fxfTrunc, 0o644)
	checkEvents(t, "open for writing", rec.take(), []Event{{Name: EventOpen, Path: abs("up.bin"), Mode: "write"}})
	payload := bytes.Repeat([]byte("x"), 70000)
	for off := 0; off < len(payload); off += 30000 {
		part := payload[off:min(off+30000, len(payload))]
		code, msg := c.status(fxpWrite, func(w *writer) { w.string(h); w.uint64(uint64(off)); w.bytes(part) })
		ok("write", code, msg)
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("writes reported events %+v, want none until close", got)
	}
	code, msg := c.status(fxpClose, func(w *writer) { w.string(h) })
	ok("close", code, msg)
	checkEvents(t, "close after upload", rec.take(), []Event{{Name: EventClose, Path: abs("up.bin"), Mode: "write", BytesWritten: 70000}})

	h = c.open("up.bin", fxfRead, 0)
	var read int
	for {
		rt, r := c.call(fxpRead, func(w *writer) { w.string(h); w.uint64(uint64(read)); w.uint32(32768) })
		if rt != fxpData {
			break
		}
		read += len(r.bytes())
	}
	code, msg = c.status(fxpClose, func(w *writer) { w.string(h) })
	ok("close", code, msg)
	checkEvents(t, "download", rec.take(), []Event{
		{Name: EventOpen, Path: abs("up.bin"), Mode: "read"},
		{Name: EventClose, Path: abs("up.bin"), Mode: "read", BytesRead: 70000},
	})

	code, msg = c.status(fxpRename, func(w *writer) { w.string("up.bin"); w.string("moved.bin") })
	ok("rename", code, msg)
	code, msg = c.status(fxpExtended, func(w *writer) {
		w.string("posix-rename@openssh.com")
		w.string("moved.bin")
		w.string("final.bin")
	})
	ok("posix-rename", code, msg)
	code, msg = c.status(fxpMkdir, func(w *writer) { w.string("d"); w.attrs(fileAttrs{}) })
	ok("mkdir", code, msg)
	code, msg = c.status(fxpRmdir, func(w *writer) { w.string("d") })
	ok("rmdir", code, msg)
	code, msg = c.status(fxpRemove, func(w *writer) { w.string("final.bin") })
	ok("remove", code, msg)
	if code, _ := c.status(fxpRemove, func(w *writer) { w.string("final.bin") }); code != fxNoSuchFile {
		t.Errorf("second remove: got status %d, want NO_SUCH_FILE", code)
	}
	checkEvents(t, "changes", rec.take(), []Event{
		{Name: EventRename, Path: abs("up.bin"), NewPath: abs("moved.bin")},
		{Name: EventRename, Path: abs("moved.bin"), NewPath: abs("final.bin")},
		{Name: EventMkdir, Path: abs("d")},
		{Name: EventRmdir, Path: abs("d")},
		{Name: EventRemove, Path: abs("final.bin")},
		{Name: EventRemove, Path: abs("final.bin"), Err: "no such file or directory"},
	})

	rt, _ := c.call(fxpOpen, func(w *writer) { w.string("missing"); w.uint32(fxfRead); w.attrs(fileAttrs{}) })
	if rt != fxpStatus {
		t.Fatalf("open of a missing file: got reply type %d, want STATUS", rt)
	}
	checkEvents(t, "failed open", rec.take(), []Event{{Name: EventOpen, Path: abs("missing"), Mode: "read", Err: "no such file or directory"}})
}

// TestSFTPEventsCloseAtEnd: a file the client leaves open is closed, and reported, when
// the session ends.
func TestSFTPEventsCloseAtEnd(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	var rec eventRecorder
	reqR, reqW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- NewServer(reqR, io.Discard, home, Options{Events: rec.sink}).Serve() }()
	var w writer
	w.start(fxpInit, 3)
	req := append([]byte(nil), w.finish()...) // finish returns the writer's reused buffer
	w.start(fxpOpen, 1)
	w.string("left-open")
	w.uint32(fxfWrite | fxfCreat)
	w.attrs(fileAttrs{})
	req = append(req, w.finish()...)
	w.start(fxpWrite, 2)
	w.string("1")
	w.uint64(0)
	w.bytes([]byte("abc"))
	req = append(req, w.finish()...)
	if _, err := reqW.Write(req); err != nil {
		t.Fatal(err)
	}
	reqW.Close()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	path := filepath.Join(home, "left-open")
	checkEvents(t, "session end", rec.take(), []Event{
		{Name: EventOpen, Path: path, Mode: "write"},
		{Name: EventClose, Path: path, Mode: "write", BytesWritten: 3},
	})
}

func TestSCPEvents(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "src.txt"), []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  SCPArgs
		input string
		want  []Event
	}{
		{
			name:  "upload",
			args:  SCPArgs{Sink: true, Paths: []string{"."}},
			input: "C0644 5 a.txt\nhello\x00",
			want: []Event{
				{Name: EventOpen, Path: filepath.Join(home, "a.txt"), Mode: "write"},
				{Name: EventClose, Path: filepath.Join(home, "a.txt"), Mode: "write", BytesWritten: 5},
			},
		},
		{
			name:  "recursive upload",
			args:  SCPArgs{Sink: true, Recursive: true, Paths: []string{"."}},
			input: "D0755 0 dir\nC0600 2 b\nhi\x00E\n",
			want: []Event{
				{Name: EventMkdir, Path: filepath.Join(home, "dir")},
				{Name: EventOpen, Path: filepath.Join(home, "dir/b"), Mode: "write"},
				{Name: EventClose, Path: filepath.Join(home, "dir/b"), Mode: "write", BytesWritten: 2},
			},
		},
		{
			name:  "download and a missing file",
			args:  SCPArgs{Source: true, Paths: []string{"src.txt", "missing"}},
			input: "\x00\x00\x00",
			want: []Event{
				{Name: EventOpen, Path: filepath.Join(home, "src.txt"), Mode: "read"},
				{Name: EventClose, Path: filepath.Join(home, "src.txt"), Mode: "read", BytesRead: 11},
				{Name: EventOpen, Path: filepath.Join(home, "missing"), Mode: "read", Err: "no such file or directory"},
			},
		},
		{
			name:  "download refused by the client",
			args:  SCPArgs{Source: true, Paths: []string{"src.txt"}},
			input: "\x00\x01cannot write\n",
			want: []Event{
				{Name: EventOpen, Path: filepath.Join(home, "src.txt"), Mode: "read"},
				{Name: EventClose, Path: filepath.Join(home, "src.txt"), Mode: "read", Err: "refused by the client"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec eventRecorder
			var out bytes.Buffer
			ServeSCP(tt.args, home, strings.NewReader(tt.input), &out, io.Discard, Options{Events: rec.sink})
			checkEvents(t, tt.name, rec.take(), tt.want)
		})
	}
}

func TestJSONEventSink(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sink := NewJSONEventSink(&buf)
	want := []Event{
		{Name: EventClose, Path: "/h/a \"b\"\n", Mode: "write", BytesWritten: 1 << 40},
		{Name: EventRename, Path: "/h/x", NewPath: "/h/y"},
	}
	for _, e := range want {
		sink(e)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, line := range lines {
		var got Event
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, line)
		}
		if got != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got, want[i])
		}
	}
}
