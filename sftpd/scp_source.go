package sftpd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// scpSendModeMask is OpenSSH's FILEMODEMASK: permissions with setuid and setgid (the
// receiving side decides what to keep).
const scpSendModeMask = 0o6777

// source sends every operand (OpenSSH source()). A path that cannot be sent is a
// warning to the client, and the next one is sent.
func (s *scpSession) source() error {
	paths, err := s.operands()
	if err != nil {
		return err
	}
	// The client's sink speaks first.
	if _, err := s.response(); err != nil {
		return err
	}
	for _, p := range paths {
		if err := s.sendPath(p); err != nil {
			return err
		}
	}
	return nil
}

// sendPath sends one file or, with -r, one directory tree. Symbolic links are followed,
// as OpenSSH's open(2) and stat(2) do.
func (s *scpSession) sendPath(path string) error {
	for len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	if strings.Contains(path, "\n") {
		// It would end the control line early, and the client would take the rest as
		// another record.
		return s.warn("%q: skipping, filename contains a newline", path)
	}
	// O_NONBLOCK so that a FIFO among the paths cannot hang the open, as in OpenSSH.
	f, err := os.OpenFile(s.abs(path), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		s.opts.event(Event{Name: EventOpen, Path: s.eventPath(path), Mode: "read", Err: errorText(err)})
		return s.warn("%s: %s", path, errnoText(err))
	}
	defer f.Close() // opened read-only: nothing to lose on close
	fi, err := f.Stat()
	if err != nil {
		return s.warn("%s: %s", path, errnoText(err))
	}
	name, ok := s.wireName(path)
	switch {
	case !ok:
		return s.warn("%s: cannot be copied: it has no file name", path)
	case fi.IsDir() && s.args.Recursive:
		return s.sendDir(path, name, f, fi)
	case !fi.Mode().IsRegular():
		return s.warn("%s: not a regular file", path)
	}
	// Only a file that is sent is an open file for the log; directories are listed.
	event := Event{Name: EventOpen, Path: s.eventPath(path), Mode: "read"}
	s.opts.event(event)
	event.Name = EventClose
	err = s.sendFile(path, f, fi, name, &event)
	s.opts.event(event)
	return err
}

// errSCPClientRefused is the close event's reason when the client answered a file's
// header or data with a warning (which it printed itself).
var errSCPClientRefused = errors.New("refused by the client")

// sendFile sends one regular file: T (with -p), C, the data and the statuses. It
// records in ev how much of the file was read and, if it was not sent whole, why.
func (s *scpSession) sendFile(path string, f *os.File, fi fs.FileInfo, name string, ev *Event) error {
	fail := func(ok bool, err error) error {
		switch {
		case err != nil:
			ev.Err = errorText(err)
		case !ok:
			ev.Err = errSCPClientRefused.Error()
		}
		return err
	}
	if ok, err := s.sendTimes(fi); !ok || err != nil {
		return fail(ok, err)
	}
	header := fmt.Sprintf("C%04o %d %s\n", statMode(fi)&scpSendModeMask, fi.Size(), name)
	s.logf("Sending file modes: %s", strings.TrimSuffix(header, "\n"))
	if err := s.send(header); err != nil {
		return fail(false, err)
	}
	if ok, err := s.response(); !ok || err != nil {
		return fail(ok, err)
	}
	readErr, err := s.copyOut(f, fi.Size(), &ev.BytesRead)
	if err != nil {
		return fail(false, err)
	}
	if readErr != nil {
		ev.Err = errnoText(readErr)
		err = s.warn("%s: %s", path, errnoText(readErr))
	} else {
		err = s.ack()
	}
	if err != nil {
		return fail(false, err)
	}
	ok, err := s.response()
	if ev.Err != "" {
		return err
	}
	return fail(ok, err)
}

// sendDir sends a directory as D, its entries, E (OpenSSH rsource()).
func (s *scpSession) sendDir(path, name string, f *os.File, fi fs.FileInfo) error {
	if ok, err := s.sendTimes(fi); !ok || err != nil {
		return err
	}
	header := fmt.Sprintf("D%04o 0 %s\n", statMode(fi)&scpSendModeMask, name)
	s.logf("Entering directory: %s", strings.TrimSuffix(header, "\n"))
	if err := s.send(header); err != nil {
		return err
	}
	if ok, err := s.response(); !ok || err != nil {
		return err
	}
	// In batches, not all at once: memory stays bounded however large the directory.
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			if sendErr := s.sendPath(joinSCPPath(path, e.Name())); sendErr != nil {
				return sendErr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if warnErr := s.warn("%s: %s", path, errnoText(err)); warnErr != nil {
				return warnErr
			}
			break
		}
	}
	if err := s.send("E\n"); err != nil {
		return err
	}
	_, err := s.response()
	return err
}

// sendTimes sends the T line with -p. ok is false when the client refused it.
func (s *scpSession) sendTimes(fi fs.FileInfo) (ok bool, err error) {
	if !s.args.PreserveTimes {
		return true, nil
	}
	mtime, atime := fi.ModTime().Unix(), fi.ModTime().Unix()
	if st, isStat := fi.Sys().(*syscall.Stat_t); isStat {
		atime = st.Atim.Sec
	}
	// The zeros are microseconds, which OpenSSH sends as 0 too.
	if err := s.send(fmt.Sprintf("T%d 0 %d 0\n", mtime, atime)); err != nil {
		return false, err
	}
	return s.response()
}

// wireName is the name a path is sent under: its last component. It comes from the
// cleaned absolute path, so "." and "~" are sent under the directory's real name, which
// clients accept (OpenSSH refuses "..", PuTTY also ".").
func (s *scpSession) wireName(path string) (string, bool) {
	abs, err := filepath.Abs(s.abs(path))
	if err != nil {
		abs = filepath.Clean(s.abs(path))
	}
	name := filepath.Base(abs)
	return name, name != "/" && name != "." && name != ".."
}

// statMode is the file's st_mode permission bits, including setuid, setgid and sticky.
func statMode(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Mode & 0o7777
	}
	return uint32(fi.Mode().Perm())
}

// copyOut sends exactly size bytes of f through the fixed buffer, adding what it read
// of f to *read. If the file cannot be read to the end (it shrank, or an I/O error),
// zeros stand in for the rest, as in OpenSSH, so that the stream stays in step; readErr
// is why. err is set when the client is gone.
func (s *scpSession) copyOut(f io.Reader, size int64, read *int64) (readErr, err error) {
	if s.buf == nil {
		s.buf = make([]byte, scpCopyBuffer)
	}
	for size > 0 {
		n := int64(len(s.buf))
		if size < n {
			n = size
		}
		chunk := s.buf[:n]
		if readErr == nil {
			got, rerr := io.ReadFull(f, chunk)
			*read += int64(got)
			if rerr != nil {
				readErr = rerr
				if errors.Is(rerr, io.ErrUnexpectedEOF) || errors.Is(rerr, io.EOF) {
					readErr = errors.New("file changed size while being sent")
				}
				clear(chunk[got:])
			}
		} else {
			clear(chunk)
		}
		if err := s.write(chunk); err != nil {
			return readErr, err
		}
		size -= n
	}
	return readErr, nil
}
