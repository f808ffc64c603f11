//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"jobsshd/agent"
	"jobsshd/jobtrust"
)

// SIGHUP makes jobsshd re-read what can change without a restart (issue 10, item 11),
// as OpenSSH's sshd re-reads its configuration: it used to kill the agent (Go's default
// for SIGHUP), status.json left behind and every session dropped. Supervisors, a
// closing terminal and `kill -HUP` by habit all send it.

// reload handles one SIGHUP: the log level from --log-level-file, then what the agent
// re-reads (agent.Server.Reload). A file that cannot be used keeps what was in force.
func reload(srv *agent.Server, levelFile string, level *slog.LevelVar, logger *slog.Logger) {
	logger.Info("reload (SIGHUP): re-reading what can change without a restart; sessions stay")
	if levelFile != "" {
		l, err := readLogLevelFile(levelFile)
		switch old := level.Level(); {
		case err != nil:
			logger.Error("reload: log level not changed", "level", old, "err", err)
		case l != old:
			level.Set(l)
			logger.Info("reload: log level changed", "from", old, "to", l)
		default:
			logger.Info("reload: log level unchanged", "level", l)
		}
	}
	srv.Reload()
}

// maxLogLevelFile bounds what --log-level-file reads: one word.
const maxLogLevelFile = 64

// readLogLevelFile reads the log level (debug, info, warn or error) from path. The
// level decides what the log shows, so the file must be the operator's: owned by root
// (or the account jobsshd runs as) and writable by no one else. The content is never
// quoted in an error: were the path one a user can plant a symlink at, an error would
// print a root-only file into the log.
func readLogLevelFile(path string) (slog.Level, error) {
	var b []byte
	var err error
	if os.Geteuid() == 0 {
		b, err = readLogLevelFileAsRoot(path)
	} else {
		b, err = readOwnLogLevelFile(path)
	}
	if err != nil {
		return 0, err
	}
	var l slog.Level
	if l.UnmarshalText(bytes.TrimSpace(b)) != nil {
		return 0, fmt.Errorf("--log-level-file %s holds no log level (write debug, info, warn or error)", path)
	}
	return l, nil
}

// readLogLevelFileAsRoot reads the file as root only through a path that root alone
// controls (jobtrust.ReadRootOnlyFile: each directory, symlink and the file checked on
// its descriptor), as --job-secret-file is read: root must not read a file a user
// chose through a symlink.
func readLogLevelFileAsRoot(path string) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("--log-level-file: %w", err)
	}
	b, err := jobtrust.ReadRootOnlyFile(abs, maxLogLevelFile)
	if errors.Is(err, jobtrust.ErrNotRootOnly) {
		return nil, fmt.Errorf("--log-level-file %s: %w: keep it root's and not writable by others (chown root, chmod go-w), in directories only root can write", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("--log-level-file %s: %w", path, err)
	}
	return b, nil
}

// readOwnLogLevelFile reads the file when jobsshd runs as the account it serves, which
// can write only what is its own anyway. It is opened without blocking (a FIFO in its
// place cannot hang a reload) and the opened file is checked.
func readOwnLogLevelFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("--log-level-file: %w", err)
	}
	defer f.Close() // read-only
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--log-level-file: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("--log-level-file %s: not a regular file", path)
	case !ok || int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("--log-level-file %s: owned by uid %d; it must be this account's", path, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("--log-level-file %s: mode %v lets others change the log level (chmod go-w %s)", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLogLevelFile+1))
	if err != nil {
		return nil, fmt.Errorf("--log-level-file: read %s: %w", path, err)
	}
	if len(b) > maxLogLevelFile {
		return nil, fmt.Errorf("--log-level-file %s: larger than %d bytes; it holds one word: debug, info, warn or error", path, maxLogLevelFile)
	}
	return b, nil
}
