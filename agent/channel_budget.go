package agent

import (
	"fmt"
	"sync"
)

// Every open channel can pin memory of the agent that the client sizes: x/crypto/ssh
// gives each channel a fixed 2 MiB receive window (channelWindowSize in its
// ssh/channel.go, with no setting) and keeps whatever the client sends within it until
// the agent reads it, and a session that has not started a program, or a forward to a
// socket that does not read, reads nothing. In full 32 KiB packets a window is 64
// allocations of 40 KiB (Go rounds objects above 32 KiB up to whole 8 KiB pages): 2.5
// MiB; a forward adds its 256 KiB copy buffer. Measured with the built binary
// (TestChannelsCannotPinUnboundedMemory): 120 filled channels took the agent from 8 to
// 284 MiB of RSS, 2.4 MiB each. The agent runs as root with a lowered oom_score_adj
// (oom_linux.go), so the OOM killer would take the user's job before it. channelBudget
// bounds the channels open at once across all connections, and with them that memory.
//
// Its default, DefaultMaxChannels = 1024, is four channels for each of the 256
// connections --max-connections allows by default: every connection can hold a session
// and a few more (a soak of 200 connections each running commands one after another
// needs more than 256, since a closed session's place comes back only once its program
// is reaped). 1024 filled windows would be 2.5 GiB, more than a container next to a
// training job can afford, so the heap guard (channel_memory.go) caps what all
// channels together pin, whatever the packets' size, at 512 MiB plus room for the rest
// of the agent. --max-channels 64 makes both bounds small (about 224 MiB).

// channelReserve is how many channels of the budget are kept for connections that hold
// none yet, so that one client filling the budget from a few connections does not
// lock out the next login: that client needs a connection per reserved channel.
func channelReserve(limit int) int { return max(1, limit/8) }

// channelBudget counts the channels open at once on all connections: sessions,
// direct-tcpip and direct-streamlocal channels the clients open, and forwarded-tcpip
// channels the agent opens for remote forwards.
type channelBudget struct {
	mu    sync.Mutex
	used  int
	limit int
}

func newChannelBudget(limit int) *channelBudget { return &channelBudget{limit: limit} }

// acquire takes one channel from the budget for a connection that holds held channels
// already, or reports that there is none. A nil budget (a Server built by hand in a
// test) has no bound.
func (b *channelBudget) acquire(held int) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	bound := b.limit - channelReserve(b.limit)
	if held == 0 {
		bound = b.limit
	}
	if b.used >= bound {
		return false
	}
	b.used++
	return true
}

// release gives back what acquire took.
func (b *channelBudget) release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.used--
	b.mu.Unlock()
}

// errNoChannels is the reason a channel is refused when the budget is spent; the client
// shows it (RFC 4254 §5.1, SSH_OPEN_RESOURCE_SHORTAGE).
func errNoChannels(limit int) error {
	return fmt.Errorf("the server has too many channels open (%d on all connections); close some sessions or forwards and try again", limit)
}
