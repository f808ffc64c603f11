package environ

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// PID1Path is where Container reads the environment the platform gave the container.
const PID1Path = "/proc/1/environ"

// maxEnvironBytes bounds how much of /proc/1/environ is read.
const maxEnvironBytes = 1 << 20

// Container is the environment every session starts from: PID 1's environment
// (what the platform injected into the container: VC_WORKER_HOSTS, CUDA_VISIBLE_DEVICES,
// ...) when it is readable, overlaid with the agent's own, minus the agent's settings and
// the variables that describe one process rather than the container (see dropInherited).
// Platforms that bake OpenSSH into images lose these variables; Backend.AI even patches
// Dropbear not to clear them.
func Container(self []string) []string {
	var pid1 []string
	if f, err := os.Open(PID1Path); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, maxEnvironBytes)) // a partial read still helps
		f.Close()
		for _, kv := range bytes.Split(b, []byte{0}) {
			if len(kv) > 0 {
				pid1 = append(pid1, string(kv))
			}
		}
	}
	return Merge(pid1, self)
}

// Merge returns base overlaid with over (a name in over replaces the one in base),
// keeping base's order, without the variables dropInherited names.
func Merge(base, over []string) []string {
	index := map[string]int{}
	var out []string
	for _, list := range [][]string{base, over} {
		for _, kv := range list {
			name, _, ok := strings.Cut(kv, "=")
			if !ok || name == "" || dropInherited(name) {
				continue
			}
			if i, seen := index[name]; seen {
				out[i] = kv
				continue
			}
			index[name] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// dropInherited reports whether a variable must not pass from the container to a
// session: the agent's own settings (JOBSSHD_*), the ones each session sets itself, and
// per-process shell state.
func dropInherited(name string) bool {
	if strings.HasPrefix(name, "JOBSSHD_") || strings.HasPrefix(name, "SSH_") {
		return true
	}
	switch name {
	case "HOME", "USER", "LOGNAME", "SHELL", "TERM", "MAIL", "PWD", "OLDPWD", "SHLVL", "_":
		return true
	}
	return false
}
