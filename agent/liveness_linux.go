package agent

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
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
	_, start, err := processStat(pid)
	return start, err
}

// processStat is the state (field 3: R, S, Z for a zombie...) and the start time (field
// 22) of /proc/<pid>/stat.
func processStat(pid string) (state string, start uint64, err error) {
	path := "/proc/" + pid + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields
	// are counted from the last ')'; the one after it is field 3.
	rp := bytes.LastIndexByte(b, ')')
	if rp < 0 {
		return "", 0, fmt.Errorf("%s: no ')' after the command name", path)
	}
	f := strings.Fields(string(b[rp+1:]))
	const startTimeField = 22 - 3
	if len(f) <= startTimeField {
		return "", 0, fmt.Errorf("%s: %d fields after the command name, want over %d", path, len(f), startTimeField)
	}
	n, err := strconv.ParseUint(f[startTimeField], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s: start time %q: %w", path, f[startTimeField], err)
	}
	return f[0], n, nil
}

// Running reports whether the agent st describes still runs: its pid is a live
// process (not a zombie) with the start time and boot id st names, so a pid reused by
// another process, or a file left from before a reboot, is not taken for it. Without
// a start time in st (no /proc when it was written) there is nothing to check a pid
// against, and the answer is false with the reason.
func (st *Status) Running() (bool, string) {
	if st.StartTime == 0 {
		return false, "status.json has no start_time to check its pid against (was /proc mounted when jobsshd started?)"
	}
	if b := bootID(); st.BootID != "" && b != "" && b != st.BootID {
		return false, "it was written before the machine restarted"
	}
	state, start, err := processStat(strconv.Itoa(st.PID))
	switch {
	case err != nil:
		return false, fmt.Sprintf("pid %d is gone", st.PID)
	case start != st.StartTime:
		return false, fmt.Sprintf("pid %d is another process now", st.PID)
	case state == "Z" || state == "X":
		return false, fmt.Sprintf("pid %d has exited", st.PID)
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
