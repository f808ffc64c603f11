package integration

// What the soak test reads about the agent and the served account from /proc.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// agentResources is one reading of the agent's footprint.
type agentResources struct {
	RSSKiB  int // VmRSS in /proc/PID/status
	FDs     int // entries of /proc/PID/fd
	Threads int // Threads in /proc/PID/status
	// Busy are the threads not parked by the Go runtime: running, or blocked in a system
	// call other than the runtime's idle waits (runtimeIdleSyscall).
	Busy int
	// Spawner are the spawner's threads (agent/spawn_linux.go, named jobsshd-spawner):
	// one more each time more programs were being started at once than ever before, up
	// to its bound, and kept for the life of the process.
	Spawner int
}

func (r agentResources) String() string {
	return fmt.Sprintf("RSS %.1f MiB, %d fds, %d threads (%d not idle, %d spawner)", float64(r.RSSKiB)/1024, r.FDs, r.Threads, r.Busy, r.Spawner)
}

// runtimeIdleSyscall reports whether a thread blocked in system call nr is one the Go
// runtime parked: idle Ms and sysmon wait in futex, the network poller in epoll_pwait,
// sysmon may sit in nanosleep. The runtime keeps such threads for reuse and never ends
// them (golang/go#14592), so after a peak of blocking system calls the thread count
// stays up; a thread blocked anywhere else (waitid, read, open) works for someone.
func runtimeIdleSyscall(nr int) bool {
	return nr == unix.SYS_FUTEX || nr == unix.SYS_EPOLL_PWAIT || nr == unix.SYS_NANOSLEEP
}

// spawnerThreadName is agent/spawn_linux.go's name for a spawner thread.
const spawnerThreadName = "jobsshd-spawner"

// busyThreads counts pid's threads that are not parked by the runtime (it reads
// /proc/PID/task/TID/syscall: "202 0x..." when blocked, "running" otherwise), and the
// spawner's threads (by /proc/PID/task/TID/comm).
func busyThreads(pid int) (busy, spawner int, err error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("list the agent's threads: %w", err)
	}
	for _, task := range tasks {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/comm", pid, task.Name())); err == nil && strings.TrimSpace(string(comm)) == spawnerThreadName {
			spawner++
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, task.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if nr, err := strconv.Atoi(f[0]); err != nil || !runtimeIdleSyscall(nr) {
			busy++
		}
	}
	return busy, spawner, nil
}

// readAgentResources reads pid's VmRSS, Threads and open descriptors.
func readAgentResources(pid int) (agentResources, error) {
	var r agentResources
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return r, fmt.Errorf("read the agent's /proc status: %w", err)
	}
	var haveRSS, haveThreads bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS": // "  7340 kB"
			r.RSSKiB, err = strconv.Atoi(f[0])
			haveRSS = err == nil
		case "Threads":
			r.Threads, err = strconv.Atoi(f[0])
			haveThreads = err == nil
		}
	}
	if !haveRSS || !haveThreads {
		return r, fmt.Errorf("/proc/%d/status has no VmRSS or Threads line:\n%s", pid, b)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return r, fmt.Errorf("list the agent's descriptors: %w", err)
	}
	r.FDs = len(fds)
	r.Busy, r.Spawner, err = busyThreads(pid)
	return r, err
}

// resourcePeak keeps the largest of each figure seen.
func (r *agentResources) peak(s agentResources) {
	r.RSSKiB = max(r.RSSKiB, s.RSSKiB)
	r.FDs = max(r.FDs, s.FDs)
	r.Threads = max(r.Threads, s.Threads)
	r.Busy = max(r.Busy, s.Busy)
	r.Spawner = max(r.Spawner, s.Spawner)
}

// accountProcesses lists the live processes whose real or effective uid is uid (zombies
// included: an unreaped child is a leak too).
func accountProcesses(uid int) []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue // exited meanwhile
		}
		var state byte
		mine := false
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			switch {
			case k == "State" && len(f) > 0:
				state = f[0][0]
			case k == "Uid" && len(f) >= 2:
				mine = f[0] == strconv.Itoa(uid) || f[1] == strconv.Itoa(uid)
			}
		}
		if !mine {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline") // "" for a zombie
		out = append(out, procInfo{PID: pid, State: state,
			Cmdline: strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))})
	}
	return out
}
