package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"time"

	"jobsshd/sftpd"
)

// A file transfer program (`jobsshd sftp-server`, `jobsshd scp`) runs as the user and
// writes to descriptor 3 two kinds of lines for the agent's log: the errors it reported
// to the client, as text, and one JSON object per file operation (sftpd.Event). The
// agent logs each event through the session's logger, which carries the connection's
// remote address and user, so that every file operation has its who and where in the
// agent's log, in text or JSON. The user controls that program (it runs with the
// user's credentials), so its lines are untrusted: bounded in length, and an event sets
// only the fields of its kind; the identity fields come from the agent alone.

// Bounds on what a program may put into the agent's log.
const (
	// maxProgramLogLine fits an event with two paths of PATH_MAX (4096) bytes, each
	// byte escaped to \uXXXX in the worst case (6 bytes), with room to spare.
	maxProgramLogLine = 64 << 10
	// maxProgramLogLines bounds the text lines (errors) logged per program. Events are
	// not counted: each stands for a file operation the user really did.
	maxProgramLogLines = 100
	// programLogDrain is how long the log descriptor is still read once the session's
	// channel is closed, for the events of files closed at the end.
	programLogDrain = 2 * time.Second
)

// fileEventMessages are the events a program may report, with the log message of each.
var fileEventMessages = map[string]string{
	sftpd.EventOpen:    "file open",
	sftpd.EventClose:   "file close",
	sftpd.EventRemove:  "file remove",
	sftpd.EventRename:  "file rename",
	sftpd.EventMkdir:   "directory create",
	sftpd.EventRmdir:   "directory remove",
	sftpd.EventSetstat: "file attributes set",
	sftpd.EventSymlink: "symlink create",
	sftpd.EventLink:    "hard link create",
}

// logProgramLines logs what a program writes to its log descriptor until the program
// closes it (or the read fails: the session's hangup sets a deadline): events as
// events, other lines as transfer errors, up to maxProgramLogLines of them. A line
// longer than maxProgramLogLine is dropped, and the reading goes on, so the program
// never blocks on it.
func logProgramLines(r io.ReadCloser, log *slog.Logger) {
	defer r.Close()
	br := bufio.NewReaderSize(r, maxProgramLogLine)
	var text int // text lines seen
	logText := func(msg string, args ...any) {
		if text < maxProgramLogLines {
			log.Warn(msg, args...)
		}
		text++
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			logText("transfer log line dropped", "reason", "longer than the limit", "max", maxProgramLogLine)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return
			}
			continue
		}
		if line = bytes.TrimSuffix(line, []byte("\n")); len(line) > 0 {
			if line[0] == '{' {
				if ev, perr := parseFileEvent(line); perr != nil {
					logText("transfer log line dropped", "reason", perr.Error())
				} else {
					logFileEvent(log, ev)
				}
			} else {
				logText("transfer error", "detail", clip(string(line), logTextMax))
			}
		}
		if err != nil {
			return // EOF: the program has exited; or the drain deadline
		}
	}
}

// parseFileEvent decodes and checks one event line. Fields it does not know are
// ignored.
func parseFileEvent(line []byte) (sftpd.Event, error) {
	var ev sftpd.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return ev, errors.New("not a JSON event")
	}
	switch {
	case fileEventMessages[ev.Name] == "":
		return ev, errors.New("unknown event name")
	case ev.Path == "":
		return ev, errors.New("event without a path")
	case ev.BytesRead < 0 || ev.BytesWritten < 0:
		return ev, errors.New("negative byte count")
	}
	switch ev.Mode {
	case "", "read", "write", "read-write":
	default:
		return ev, errors.New("unknown open mode")
	}
	return ev, nil
}

// reportedBy marks every file.* event as the claim of a program that runs as the user.
// The agent vouches for the fields it adds (remote, user, session: who and where), not
// for the path, mode and byte counts: the user may ptrace their own sftp-server (or
// write to descriptor 3 from a program started as it) and report operations that did
// not happen, or hide ones that did. A platform that needs proof of a file operation
// must look at the file system, not at these events.
const reportedBy = "user_process"

// logFileEvent logs ev with the fields its kind has, each clipped (log_clip.go).
func logFileEvent(log *slog.Logger, ev sftpd.Event) {
	args := []any{"event", ev.Name, "path", clip(ev.Path, logPathMax)}
	switch ev.Name {
	case sftpd.EventOpen:
		args = append(args, "mode", ev.Mode)
	case sftpd.EventClose:
		args = append(args, "mode", ev.Mode, "bytes_read", ev.BytesRead, "bytes_written", ev.BytesWritten)
	case sftpd.EventRename, sftpd.EventLink:
		args = append(args, "new_path", clip(ev.NewPath, logPathMax))
	case sftpd.EventSymlink:
		args = append(args, "target", clip(ev.Target, logPathMax))
	}
	if ev.Err != "" {
		args = append(args, "err", clip(ev.Err, logTextMax))
	}
	args = append(args, "reported_by", reportedBy)
	log.Info(fileEventMessages[ev.Name], args...)
}
