package sftpd

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Event is one file operation of an SFTP or scp session, reported for the audit log.
// Only the fields that apply to its Name are set.
type Event struct {
	Name string `json:"event"` // one of the Event* names
	Path string `json:"path"`  // absolute, as the server resolved the client's path
	// NewPath is the new name of a rename or a hard link.
	NewPath string `json:"new_path,omitempty"`
	// Target is what a symbolic link points to, as the client sent it.
	Target string `json:"target,omitempty"`
	// Mode is how a file was opened, for EventOpen and EventClose: "read", "write" or
	// "read-write".
	Mode string `json:"mode,omitempty"`
	// BytesRead and BytesWritten are what the client read from and wrote to the file
	// while it was open (for EventClose).
	BytesRead    int64 `json:"bytes_read,omitempty"`
	BytesWritten int64 `json:"bytes_written,omitempty"`
	// Err is why the operation failed; "" when it succeeded.
	Err string `json:"err,omitempty"`
}

// The events' names. A platform filters the agent's log on them, so they are stable.
const (
	EventOpen    = "file.open"
	EventClose   = "file.close"
	EventRemove  = "file.remove"
	EventRename  = "file.rename"
	EventMkdir   = "file.mkdir"
	EventRmdir   = "file.rmdir"
	EventSetstat = "file.setstat"
	EventSymlink = "file.symlink"
	EventLink    = "file.link"
)

// EventSink receives a server's events, in order, from the goroutine that serves the
// session. It is called only when a file is opened or closed, or the file system is
// changed, never per read or write.
type EventSink func(Event)

// Options are a server's optional settings; the zero value means none.
type Options struct {
	Events EventSink // nil means no events
}

// NewJSONEventSink writes each event to w as one line of JSON, in one write, so that
// lines up to the pipe's atomic size (4 KiB) never interleave with another writer's.
// Write errors are ignored: the reader (the agent) is gone, and the transfer itself
// must not fail for want of its log.
func NewJSONEventSink(w io.Writer) EventSink {
	return func(e Event) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // <, > and & in file names stay one byte, not six
		if enc.Encode(e) != nil {
			return // cannot happen: Event has only strings and integers
		}
		_, _ = w.Write(buf.Bytes()) // Encode ends the line with '\n'
	}
}

// event reports e when the server has a sink.
func (o Options) event(e Event) {
	if o.Events != nil {
		o.Events(e)
	}
}

// errorText is the short reason an error gives: the system's message for a failed
// system call ("no such file or directory"), else the whole error.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	var pe *fs.PathError
	var le *os.LinkError
	var errno syscall.Errno
	if (errors.As(err, &pe) || errors.As(err, &le)) && errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// openMode names how a file was opened, for EventOpen and EventClose.
func openMode(flags int) string {
	switch flags & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_WRONLY:
		return "write"
	case os.O_RDWR:
		return "read-write"
	}
	return "read"
}
