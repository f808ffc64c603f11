package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"

	"jobsshd/agent"
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
// (or the account jobsshd runs as) and writable by no one else. It is opened without
// blocking (a FIFO in its place cannot hang a reload) and the opened file is checked.
func readLogLevelFile(path string) (slog.Level, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return 0, fmt.Errorf("--log-level-file: %w", err)
	}
	defer f.Close() // read-only
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("--log-level-file: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return 0, fmt.Errorf("--log-level-file %s: not a regular file", path)
	case !ok || st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return 0, fmt.Errorf("--log-level-file %s: owned by uid %d; it must be root's (chown root %s)", path, st.Uid, path)
	case fi.Mode().Perm()&0o022 != 0:
		return 0, fmt.Errorf("--log-level-file %s: mode %v lets others change the log level (chmod go-w %s)", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLogLevelFile+1))
	if err != nil {
		return 0, fmt.Errorf("--log-level-file: read %s: %w", path, err)
	}
	if len(b) > maxLogLevelFile {
		return 0, fmt.Errorf("--log-level-file %s: longer than %d bytes; it holds one word: debug, info, warn or error", path, maxLogLevelFile)
	}
	var l slog.Level
	if err := l.UnmarshalText(bytes.TrimSpace(b)); err != nil {
		return 0, fmt.Errorf("--log-level-file %s: %w (write debug, info, warn or error)", path, err)
	}
	return l, nil
}
