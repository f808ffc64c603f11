package agent

import (
	"fmt"
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
// audit-log pipe of transfer programs.
const (
	descriptorsPerForward = 1
	descriptorsPerSession = 8
)

// descriptorReserve is how many descriptors stay out of the budget: for the listener's
// accepts, the handshakes and logins of new connections, the host and key files they
// read, and the runtime. A quarter of the limit, at least 64.
func descriptorReserve(limit int) int { return max(64, limit/4) }

// descriptorBudget counts the descriptors that connections hold through their
// channels and forwards. Sessions and forwarded connections each get half of it, so
// that a user's forwards cannot leave the next login without a session.
type descriptorBudget struct {
	mu       sync.Mutex
	used     [2]int // by channel class (classSession, classForward)
	perClass int
}

// newDescriptorBudget sizes the budget from the process's open-file limit.
func newDescriptorBudget() (*descriptorBudget, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return nil, fmt.Errorf("read the open-file limit (RLIMIT_NOFILE): %w", err)
	}
	limit := int(min(rl.Cur, 1<<30))
	return &descriptorBudget{perClass: max(0, limit-descriptorReserve(limit)) / 2}, nil
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
