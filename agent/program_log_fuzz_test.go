package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"jobsshd/sftpd"
)

// programLogRecorder keeps every record logged through it.
type programLogRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *programLogRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *programLogRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *programLogRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *programLogRecorder) WithGroup(string) slog.Handler      { return h }

// programLogKeys are the attributes each kind of line may put into the agent's log:
// never an identity field (user, remote address), which only the agent sets.
func programLogKeys() map[string]map[string]bool {
	keys := map[string]map[string]bool{
		"transfer error":            {"detail": true},
		"transfer log line dropped": {"reason": true, "max": true},
	}
	eventKeys := map[string]bool{"event": true, "path": true, "mode": true, "bytes_read": true,
		"bytes_written": true, "new_path": true, "target": true, "err": true,
		// Every file event says it comes from a user process (program_log.go).
		"reported_by": true}
	for _, msg := range fileEventMessages {
		keys[msg] = eventKeys
	}
	return keys
}

// FuzzProgramLog feeds arbitrary output of a transfer program's log descriptor (fd 3,
// written by a process the user controls) to the agent's reader, and checks:
//   - no panic, and the reader returns at the end of the input;
//   - at most maxProgramLogLines text lines reach the log, each within
//     maxProgramLogLine bytes;
//   - every record is one the reader defines, with only that kind's attributes;
//   - what is logged is bounded by the input: at most 3 bytes per input byte (JSON
//     turns a stray byte into U+FFFD) and a few fixed attributes per line;
//   - an event line parseFileEvent accepts round-trips: written back as JSON, it
//     parses to the same event.
func FuzzProgramLog(f *testing.F) {
	// What `jobsshd sftp-server` writes (sftpd.NewJSONEventSink) for a put, a rename
	// and a failed remove, the text line of a refused request, and lines a hostile
	// program could write instead.
	var real bytes.Buffer
	sink := sftpd.NewJSONEventSink(&real)
	sink(sftpd.Event{Name: sftpd.EventOpen, Path: "/home/work/data.csv", Mode: "write"})
	sink(sftpd.Event{Name: sftpd.EventClose, Path: "/home/work/data.csv", Mode: "write", BytesWritten: 1 << 20})
	sink(sftpd.Event{Name: sftpd.EventRename, Path: "/home/work/a", NewPath: "/home/work/b <&>"})
	sink(sftpd.Event{Name: sftpd.EventRemove, Path: "/etc/passwd", Err: "permission denied"})
	sink(sftpd.Event{Name: sftpd.EventSymlink, Path: "/home/work/l", Target: "../../etc"})
	real.WriteString("scp: /data/x: No such file or directory\n")
	f.Add(real.Bytes())
	f.Add([]byte(`{"event":"file.open","path":"/x","user":"root","remote":"10.0.0.1","mode":"write"}` + "\n"))
	f.Add([]byte(`{"event":"file.close","path":"/x","bytes_read":-1}` + "\n" + `{"event":"nope","path":"/x"}` + "\n{\n\n"))
	f.Add([]byte(`{"event":"file.open","path":"\ud800\u0000","mode":"exec"}`))
	f.Add(bytes.Repeat([]byte("e\n"), maxProgramLogLines+5))
	f.Add(append(bytes.Repeat([]byte("x"), maxProgramLogLine+10), "\nafter\n"...))
	allowedKeys := programLogKeys()
	f.Fuzz(func(t *testing.T, output []byte) {
		h := &programLogRecorder{}
		within(t, "read the program's log", func() {
			logProgramLines(io.NopCloser(bytes.NewReader(output)), slog.New(h))
		})
		var text, logged int
		for _, r := range h.records {
			keys, ok := allowedKeys[r.Message]
			if !ok {
				t.Fatalf("got a record %q, want one the reader defines", r.Message)
			}
			if r.Message == "transfer error" || r.Message == "transfer log line dropped" {
				text++
			}
			logged += len(r.Message)
			r.Attrs(func(a slog.Attr) bool {
				if !keys[a.Key] {
					t.Errorf("record %q: got attribute %q, want only %v", r.Message, a.Key, keys)
				}
				v := a.Value.String()
				if a.Key == "detail" && len(v) > maxProgramLogLine {
					t.Errorf("got a text line of %d bytes, want at most %d", len(v), maxProgramLogLine)
				}
				logged += len(a.Key) + len(v)
				return true
			})
		}
		if text > maxProgramLogLines {
			t.Errorf("got %d text lines logged, want at most %d", text, maxProgramLogLines)
		}
		const perRecord = 128 // message, keys, numbers
		if limit := 3*len(output) + perRecord*len(h.records); logged > limit {
			t.Errorf("got %d bytes logged for %d bytes of input in %d records, want at most %d", logged, len(output), len(h.records), limit)
		}
		for _, line := range bytes.Split(output, []byte("\n")) {
			if len(line) > maxProgramLogLine || len(line) == 0 || line[0] != '{' {
				continue
			}
			ev, err := parseFileEvent(line)
			if err != nil {
				continue
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("marshal event %+v: %v", ev, err)
			}
			back, err := parseFileEvent(again)
			if err != nil || !reflect.DeepEqual(back, ev) {
				t.Fatalf("event %+v from %q: written back as %s it parses to %+v, %v", ev, line, again, back, err)
			}
		}
	})
}
