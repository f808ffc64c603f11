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
		h.f.Close() // the client is gone: nobody to report a close error to
		delete(s.handles, name)
	}
}
