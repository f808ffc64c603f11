package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A status.json outlives an agent that was killed (kill -9, the OOM killer): only a
// clean shutdown removes it. Its pid alone cannot tell a live agent from a stale file,
// since pids are reused, and in a fresh PID namespace the same pid comes back at every
// restart. pid with the process's start time names one process: the kernel's start time
// (field 22 of /proc/PID/stat, in clock ticks after boot) is fixed for the life of the
// process, and a new process with the same pid has another one. The boot id
// (/proc/sys/kernel/random/boot_id) tells start times of different boots apart, for a
// state directory that survives a reboot.
//
// A platform's check (README "status.json"), in the agent's PID namespace: the agent
// is alive when /proc/<pid>/stat exists, its field 22 equals start_time and
// /proc/sys/kernel/random/boot_id equals boot_id.

// processStartTime is field 22 (starttime) of /proc/<pid>/stat ("self" for this
// process), in clock ticks after boot.
func processStartTime(pid string) (uint64, error) {
	p, err := readProc(pid)
	return p.start, err
}

// procInfo is what Running checks of a process: its state (field 3 of
// /proc/<pid>/stat: R, S, Z for a zombie...), its start time (field 22) and its
// effective uid (the second field of status's "Uid:" line).
type procInfo struct {
	state string
	start uint64
	euid  int
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status through one descriptor of
// /proc/<pid>: it stands for that process alone, and once the process is gone reads
// through it fail (ESRCH) rather than reach a process that took its pid since, so
// both files describe the same process (proc(5), "/proc/pid").
func readProc(pid string) (procInfo, error) {
	dirPath := "/proc/" + pid
	dir, err := os.OpenFile(dirPath, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return procInfo{}, err
	}
	defer dir.Close() // read only
	stat, err := readProcFile(dir, "stat")
	if err != nil {
		return procInfo{}, fmt.Errorf("%s/stat: %w", dirPath, err)
	}
	p, err := parseProcStat(dirPath+"/stat", stat)
	if err != nil {
		return procInfo{}, err
	}
	status, err := readProcFile(dir, "status")
	if err != nil {
		return procInfo{}, fmt.Errorf("%s/status: %w", dirPath, err)
	}
	if p.euid, err = effectiveUID(status); err != nil {
		return procInfo{}, fmt.Errorf("%s/status: %w", dirPath, err)
	}
	return p, nil
}

// readProcFile reads the file name of the /proc/<pid> directory dir, up to 64 KiB
// (stat and status are a few hundred bytes to a few kilobytes).
func readProcFile(dir *os.File, name string) ([]byte, error) {
	fd, err := syscall.Openat(int(dir.Fd()), name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close() // read only
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

// parseProcStat is the state and start time in b, the text of /proc/<pid>/stat
// (path, for errors).
func parseProcStat(path string, b []byte) (procInfo, error) {
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields
	// are counted from the last ')'; the one after it is field 3.
	rp := bytes.LastIndexByte(b, ')')
	if rp < 0 {
		return procInfo{}, fmt.Errorf("%s: no ')' after the command name", path)
	}
	f := strings.Fields(string(b[rp+1:]))
	const startTimeField = 22 - 3
	if len(f) <= startTimeField {
		return procInfo{}, fmt.Errorf("%s: %d fields after the command name, want over %d", path, len(f), startTimeField)
	}
	n, err := strconv.ParseUint(f[startTimeField], 10, 64)
	if err != nil {
		return procInfo{}, fmt.Errorf("%s: start time %q: %w", path, f[startTimeField], err)
	}
	return procInfo{state: f[0], start: n}, nil
}

// effectiveUID is the effective uid in b, the text of /proc/<pid>/status, whose line
// "Uid:" holds the real, effective, saved and filesystem uids.
func effectiveUID(b []byte) (int, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		return strconv.Atoi(f[1])
	}
	return 0, errors.New(`no "Uid:" line with an effective uid`)
}

// Running reports whether the agent st describes still runs: its pid is a live
// process (not a zombie) with the start time and boot id st names, so a pid reused by
// another process, or a file left from before a reboot, is not taken for it, and it
// runs as the uid that owns the state directory the file was read from, as the agent
// must: an agent run as the user writes status.json in a directory of the user's,
// where the user may write any pid and start time, and root's `jobsshd status` must
// not take a process of root's (or anyone else's) for that agent. Without a start
// time in st (no /proc when it was written) there is nothing to check a pid against,
// and the answer is false with the reason.
func (st *Status) Running() (bool, string) {
	if st.StartTime == 0 {
		return false, "status.json has no start_time to check its pid against (was /proc mounted when jobsshd started?)"
	}
	if b := bootID(); st.BootID != "" && b != "" && b != st.BootID {
		return false, "it was written before the machine restarted"
	}
	p, err := readProc(strconv.Itoa(st.PID))
	switch {
	case err != nil:
		return false, fmt.Sprintf("pid %d is gone", st.PID)
	case p.start != st.StartTime:
		return false, fmt.Sprintf("pid %d is another process now", st.PID)
	case p.state == "Z" || p.state == "X":
		return false, fmt.Sprintf("pid %d has exited", st.PID)
	case p.euid != st.dirOwner:
		return false, fmt.Sprintf("pid %d runs as uid %d, not as uid %d, which owns the state directory as jobsshd's does (status.json names another process)", st.PID, p.euid, st.dirOwner)
	}
	return true, ""
}

// bootID is this boot's id, "" when the kernel does not say.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
