package sftpd

import (
	"fmt"
	"os"
	"strconv"
)

// handle is an open file or directory.
type handle struct {
	f      *os.File
	path   string
	dir    bool
	append bool // opened with O_APPEND: writes go to the end whatever their offset
	// For the close event: how the file was opened and what the client moved.
	mode                    string
	bytesRead, bytesWritten int64
}

func (s *Server) addHandle(h *handle) (string, error) {
	if len(s.handles) >= maxOpenHandles {
		h.f.Close()
		return "", fmt.Errorf("open %s: too many open handles (%d): close some first", h.path, maxOpenHandles)
	}
	s.next++
	name := strconv.FormatUint(s.next, 10)
	s.handles[name] = h
	return name, nil
}

// lookup finds a handle of the wanted kind; a stale or forged handle is an error the
// client sees, never a crash.
func (s *Server) lookup(name []byte, dir bool) (*handle, error) {
	h, ok := s.handles[string(name)]
	if !ok || h.dir != dir {
		return nil, fmt.Errorf("invalid handle %q", name)
	}
	return h, nil
}

func (s *Server) closeAll() {
	for name, h := range s.handles {
		err := h.f.Close() // the client is gone: only the log hears of a close error
		delete(s.handles, name)
		s.closeEvent(h, err)
	}
}

// closeEvent reports a closed file (not a directory) with what was read and written.
func (s *Server) closeEvent(h *handle, err error) {
	if h.dir {
		return
	}
	s.opts.event(Event{Name: EventClose, Path: h.path, Mode: h.mode,
		BytesRead: h.bytesRead, BytesWritten: h.bytesWritten, Err: errorText(err)})
}
