package agent

import (
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

// The agent serves everyone from one process, so its open-file limit is shared: a
// user who holds 1024 forwarded connections on each of 256 connections (what the
// per-connection limits allow) would hold far more descriptors than the limit, and
// accept(2) and the pipes of new sessions would then fail for everyone, including the
// login that could clean up. descriptorBudget bounds what all connections together may
// hold, below the limit, so that a reserve stays for new logins.
//
// Go raises the soft RLIMIT_NOFILE to the hard limit at start (golang/go#46279) and
// restores it for the programs it starts, so the soft limit read here is the hard one.

// Descriptors counted per use: a forwarded connection is one socket; a session holds
// its program's pipes or terminal (up to four) and its pidfd, rounded up for the
// audit-log pipe of transfer programs. A program left running after its session was
// hung up (lingering.go) holds only its pidfd: hangUp closed its pipes.
const (
	descriptorsPerForward   = 1
	descriptorsPerSession   = 8
	descriptorsPerLingering = 1
)

// descriptorSlack is what the reserve keeps beyond one descriptor per connection: the
// listener, the host and key files a login reads, the log, the runtime's own.
const descriptorSlack = 64

// descriptorReserve is how many descriptors stay out of the budget, for what the
// budget does not count: one socket per connection, logged in or not
// (--max-connections, --max-unauthenticated, those being told they are refused,
// maxRefusing, and evicted ones being held, maxEvictedHeld), plus descriptorSlack; at least a quarter of the limit. With a limit of
// 1024 a quarter (256) did not cover 256 connections, 64 unauthenticated ones and the
// refusals. But never more than half the limit: below that the limits do not fit the
// limit at all, the agent serves with what there is, and newDescriptorBudget says so
// at start.
func descriptorReserve(limit, maxConnections, maxUnauthenticated int) int {
	needed := maxConnections + maxUnauthenticated + maxRefusing + maxEvictedHeld + descriptorSlack
	return max(limit/4, min(needed, limit/2))
}

// descriptorBudget counts the descriptors that connections hold through their
// channels and forwards. Sessions and forwarded connections each get half of it, so
// that a user's forwards cannot leave the next login without a session.
type descriptorBudget struct {
	mu        sync.Mutex
	used      [2]int // by channel class (classSession, classForward)
	perClass  int
	lingering int // programs left running after their session ended (lingering.go)
}

// newDescriptorBudget sizes the budget from the process's open-file limit and the
// connection limits of cfg, and warns on log when that leaves less than one
// connection's worth of sessions: the agent then refuses sessions early with "short of
// file descriptors", and the operator should raise the limit.
func newDescriptorBudget(cfg Config, log *slog.Logger) (*descriptorBudget, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return nil, fmt.Errorf("read the open-file limit (RLIMIT_NOFILE): %w", err)
	}
	return newDescriptorBudgetWithLimit(rl.Cur, cfg, log)
}

// newDescriptorBudgetWithLimit is newDescriptorBudget for an open-file limit of rlimit.
func newDescriptorBudgetWithLimit(rlimit uint64, cfg Config, log *slog.Logger) (*descriptorBudget, error) {
	limit := int(min(rlimit, 1<<30))
	b := descriptorBudgetFor(limit, cfg.MaxConnections, cfg.MaxUnauthenticated)
	if sessions := b.perClass / descriptorsPerSession; sessions < cfg.MaxSessions {
		log.Warn("the open-file limit is too small for the configured limits: sessions will be refused early",
			"event", "config.warning", "open_file_limit", limit, "sessions_in_all", sessions, "forwards_in_all", b.perClass,
			"max_connections", cfg.MaxConnections, "max_sessions", cfg.MaxSessions,
			"fix", fmt.Sprintf("raise the hard open-file limit (ulimit -Hn, docker --ulimit nofile=65536:65536) to at least %d, or lower --max-connections",
				cfg.MaxConnections+cfg.MaxUnauthenticated+maxRefusing+maxEvictedHeld+descriptorSlack+2*cfg.MaxSessions*descriptorsPerSession))
	}
	return b, nil
}

// descriptorBudgetFor is the budget for an open-file limit of limit.
func descriptorBudgetFor(limit, maxConnections, maxUnauthenticated int) *descriptorBudget {
	return &descriptorBudget{perClass: max(0, limit-descriptorReserve(limit, maxConnections, maxUnauthenticated)) / 2}
}

// maxLingering bounds the programs left running after their session ended: at most
// maxLingeringPrograms, and at most half of the sessions the budget holds, so that
// however many a user leaves behind, the other half stays for new sessions (issue 10,
// item 3; each such program is also a thread of the agent, blocked in waitid).
func (b *descriptorBudget) maxLingering() int {
	return min(maxLingeringPrograms, b.perClass/descriptorsPerSession/2)
}

// startLingering moves a session whose program outlives its hangup from the session's
// descriptors to the lingering program's (one, its pidfd), or reports that
// maxLingering programs already linger. endLingering undoes it once the program has
// ended, so that the session's channel gives back a whole session's count.
func (b *descriptorBudget) startLingering() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lingering >= b.maxLingering() {
		return false
	}
	b.lingering++
	b.used[classSession] -= descriptorsPerSession - descriptorsPerLingering
	return true
}

// endLingering ends what startLingering started.
func (b *descriptorBudget) endLingering() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.lingering--
	b.used[classSession] += descriptorsPerSession - descriptorsPerLingering
	b.mu.Unlock()
}

// acquire takes the descriptors of one use of class from the budget, or reports that
// they are not there. A nil budget (a Server built by hand in a test) has no bound.
func (b *descriptorBudget) acquire(class int) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used[class]+descriptorsPer(class) > b.perClass {
		return false
	}
	b.used[class] += descriptorsPer(class)
	return true
}

// room reports whether one more use of class fits; hold then counts it. Between the
// two, other connections may take the room: for listeners, which a connection opens
// one global request at a time, that overshoot is at most one per connection.
func (b *descriptorBudget) room(class int) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used[class]+descriptorsPer(class) <= b.perClass
}

// hold counts one use of class whether or not it fits (see room).
func (b *descriptorBudget) hold(class int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.used[class] += descriptorsPer(class)
	b.mu.Unlock()
}

// release gives back what acquire or hold took for class.
func (b *descriptorBudget) release(class int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.used[class] -= descriptorsPer(class)
	b.mu.Unlock()
}

func descriptorsPer(class int) int {
	if class == classSession {
		return descriptorsPerSession
	}
	return descriptorsPerForward
}

// errNoDescriptors is the reason a channel or forward is refused when the budget is
// spent; the client shows it.
var errNoDescriptors = fmt.Errorf("the server is short of file descriptors; close some forwards or sessions and try again")
