package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
)

// agentOOMScoreAdj is the oom_score_adj the agent gives itself when it may (as root,
// with CAP_SYS_RESOURCE). The kernel's OOM killer picks the process with the highest
// badness, its share of memory in 1/1000 plus oom_score_adj (proc(5)). OpenSSH's sshd
// sets -1000 for its listener (OOM_SCORE_ADJ_MIN, oom_adjust_setup in
// openbsd-compat/port-linux.c), which makes it immune: right for a listener whose
// memory never grows. The agent's memory grows with what logged-in users hold open,
// within its limits, so it stays a possible victim when it is itself the runaway: at
// -900 it is chosen over another process only when its share of the memory exceeds
// that process's by more than 90% of all memory, which a 10 MiB agent beside a
// training job never does.
const agentOOMScoreAdj = -900

// ownOOMScorePath is the agent's own oom_score_adj.
const ownOOMScorePath = "/proc/self/oom_score_adj"

// oomScores is what the spawner does with oom_score_adj around forks. The zero value
// (the agent's score was not lowered) leaves it alone.
type oomScores struct {
	mu      sync.Mutex
	lowered bool
	agent   int          // what the agent set for itself
	child   int          // what it had at start, which its programs get back
	forking int          // forks in flight
	log     *slog.Logger // for a failure to lower it again after a fork
	path    string       // "" means ownOOMScorePath; tests point it elsewhere
}

// ProtectFromOOM lowers the agent's oom_score_adj to agentOOMScoreAdj, so that under
// memory pressure the kernel kills a job's process before the agent that lets users in
// to look at it, and arranges that every program the agent starts gets the score the
// agent had at start (Kubernetes sets one per pod's QoS class) instead of inheriting the
// lowered one. Lowering needs CAP_SYS_RESOURCE, which root in a container often lacks
// (Docker does not grant it by default): then it logs why at info level and changes
// nothing. Call it once, before the first session.
func ProtectFromOOM(log *slog.Logger) {
	ownChildren.spawner.oom.protect(log)
}

func (o *oomScores) protect(log *slog.Logger) {
	start, err := o.read()
	if err != nil {
		log.Warn("oom_score_adj left as it is", "err", err)
		return
	}
	if start <= agentOOMScoreAdj {
		log.Debug("oom_score_adj already low", "oom_score_adj", start)
		return
	}
	if err := o.write(agentOOMScoreAdj); err != nil {
		log.Info("oom_score_adj left as it is: lowering it needs CAP_SYS_RESOURCE", "oom_score_adj", start, "err", err)
		return
	}
	o.mu.Lock()
	o.lowered, o.agent, o.child, o.log = true, agentOOMScoreAdj, start, log
	o.mu.Unlock()
	log.Debug("oom_score_adj lowered", "oom_score_adj", agentOOMScoreAdj, "programs", start)
}

// forkBegins gives the agent, for a fork, the score its programs get: the child copies
// the score (and with it the lowest score it may set without privilege) when it is
// forked. Setting it in the child after the fork would race with the program's own first
// fork, and would leave the child free to lower its score back to the agent's without
// privilege (the kernel lets a process go down to the lowest value a privileged writer
// set for it). While forks overlap the agent keeps the normal score; the end function
// of the last lowers it again. So the agent has its normal score only while it forks (a
// stuck fork keeps it there, which costs protection, not logins).
func (o *oomScores) forkBegins() (end func(), err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.lowered {
		return func() {}, nil
	}
	if o.forking == 0 {
		if err := o.write(o.child); err != nil {
			return nil, fmt.Errorf("give the program oom_score_adj %d: %w", o.child, err)
		}
	}
	o.forking++
	return o.forkEnds, nil
}

// forkEnds ends a fork that forkBegins counted.
func (o *oomScores) forkEnds() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.forking--; o.forking > 0 || !o.lowered {
		return
	}
	if err := o.write(o.agent); err != nil {
		// The agent goes on with the normal score; its programs still get theirs.
		o.lowered = false
		o.log.Warn("oom_score_adj of the agent is back to normal: cannot lower it again", "oom_score_adj", o.child, "err", err)
	}
}

func (o *oomScores) file() string {
	if o.path == "" {
		return ownOOMScorePath
	}
	return o.path
}

func (o *oomScores) read() (int, error) {
	path := o.file()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read %s: %q is not a number", path, b)
	}
	return n, nil
}

func (o *oomScores) write(v int) error {
	path := o.file()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w (no /proc?)", path, err)
		}
		return err
	}
	_, werr := f.WriteString(strconv.Itoa(v))
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %d to %s: %w", v, path, werr)
	}
	return cerr
}
