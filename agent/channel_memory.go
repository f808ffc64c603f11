package agent

import (
	"log/slog"
	"net"
	"runtime/metrics"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"
)

// Counting channels (channel_budget.go) bounds what full packets can pin, but x/crypto
// keeps every data packet it receives as an allocation of its own (ssh/transport.go
// copies each packet out; ssh/buffer.go links one element per packet), so a window
// filled with 1-byte packets costs about 48 bytes per byte: 100 MiB per channel,
// measured. memoryGuard bounds that: it watches the Go heap as client data arrives and,
// once the heap passes its bound, closes the connection that holds the most client data
// the agent has not read, which frees what its channels buffered.
//
// What a connection holds unread is estimated as the bytes its client sent on the wire
// minus the bytes the agent's handlers read from its channels. Packet framing and
// control messages make the estimate grow slowly on busy connections (about 0.1% of an
// upload in 32 KiB packets); a client pinning memory with small packets stands out by
// orders of magnitude, which is all the choice of whom to drop needs.

// memoryCheckEvery is how many bytes from clients may arrive between two looks at the
// heap; what the guard can overshoot by.
const memoryCheckEvery = 1 << 20

// memoryGuardBound is the Go heap above which the guard drops connections: what
// maxChannels filled channels need with full packets (2 MiB window and about 0.5 MiB of
// our own buffers and bookkeeping each), at most maxChannelMemory, plus room for the
// rest of the agent. Below 205 channels no client that sends full packets meets it;
// above, the guard is what bounds the memory of filled windows too, and drops the
// connection that holds the most of them.
func memoryGuardBound(maxChannels int) uint64 {
	return min(uint64(maxChannels)*(5<<19), maxChannelMemory) + 64<<20
}

// maxChannelMemory bounds what the open channels of all connections may pin: 512 MiB,
// affordable next to a training job (channel_budget.go).
const maxChannelMemory = 512 << 20

// inbound counts one connection's client data: received on the wire and read by the
// agent from its channels.
type inbound struct {
	wire, read atomic.Int64
	close      func() // closes the connection's transport
	log        *slog.Logger
	dropped    atomic.Bool
	discarded  atomic.Bool // set once discardUnread has freed what it held

	mu    sync.Mutex
	chans map[*countedChannel]struct{} // open channels, for discardUnread
}

// discardUnread reads and drops what the client of a dropped connection sent and no
// one read, once its transport has ended: a program that ignores the hangup would
// otherwise keep its session's channel, and all that channel buffered, alive.
func (in *inbound) discardUnread() {
	if !in.dropped.Load() {
		return
	}
	in.mu.Lock()
	chans := make([]*countedChannel, 0, len(in.chans))
	for ch := range in.chans {
		chans = append(chans, ch)
	}
	in.mu.Unlock()
	// The transport is gone, so x/crypto has marked every channel's buffers at EOF.
	for _, ch := range chans {
		discardBuffered(ch)
	}
	in.discarded.Store(true)
}

// discardBuffered reads and drops what x/crypto buffered for ch, a channel that is
// closed (its buffers are marked at end of file, so the reads return what is buffered
// and then stop). Their error is the window adjustment that can no longer be sent, or
// EOF.
func discardBuffered(ch ssh.Channel) {
	buf := make([]byte, 32<<10)
	for {
		n, _ := ch.Read(buf)
		m, _ := ch.Stderr().Read(buf)
		if n == 0 && m == 0 {
			return
		}
	}
}

func (in *inbound) unread() int64 { return in.wire.Load() - in.read.Load() }

// memoryGuard watches the heap for all connections.
type memoryGuard struct {
	bound   uint64
	arrived atomic.Int64 // bytes from clients since the last look at the heap
	mu      sync.Mutex
	conns   map[*inbound]struct{}
	heap    func() uint64 // bytes in heap objects, live or not yet swept
}

func newMemoryGuard(maxChannels int) *memoryGuard {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	return &memoryGuard{bound: memoryGuardBound(maxChannels), conns: map[*inbound]struct{}{},
		heap: func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }}
}

// watch counts what the client of conn sends and registers the connection until the
// returned end is called. The returned net.Conn is what x/crypto must read from. A nil
// guard (a Server built by hand in a test) watches nothing.
func (g *memoryGuard) watch(conn net.Conn, closeTransport func(), log *slog.Logger) (net.Conn, *inbound, func()) {
	if g == nil {
		return conn, nil, func() {}
	}
	in := &inbound{close: closeTransport, log: log, chans: map[*countedChannel]struct{}{}}
	g.mu.Lock()
	g.conns[in] = struct{}{}
	g.mu.Unlock()
	end := func() {
		g.mu.Lock()
		delete(g.conns, in)
		g.mu.Unlock()
	}
	return &wireCounter{Conn: conn, in: in, guard: g}, in, end
}

// arrivedBytes notes n bytes from a client and looks at the heap every
// memoryCheckEvery bytes.
func (g *memoryGuard) arrivedBytes(n int) {
	if g.arrived.Add(int64(n)) < memoryCheckEvery {
		return
	}
	g.arrived.Store(0)
	g.mu.Lock()
	defer g.mu.Unlock()
	heap := g.heap()
	// Connections already dropped hold their data until their transport has ended and
	// discardUnread has run; count it as gone meanwhile, or one heavy client would cost
	// everyone. (What it freed still counts in the heap until the next collection, which
	// can only make the next drop come early.)
	var freeing uint64
	for in := range g.conns {
		if in.dropped.Load() && !in.discarded.Load() {
			freeing += uint64(max(0, in.unread()))
		}
	}
	if heap <= g.bound+freeing {
		return
	}
	var worst *inbound
	for in := range g.conns {
		if !in.dropped.Load() && (worst == nil || in.unread() > worst.unread()) {
			worst = in
		}
	}
	if worst == nil {
		return
	}
	worst.dropped.Store(true)
	worst.log.Warn("connection dropped: its channels made the agent hold too much memory; read what you send, or send it in larger packets",
		"event", "connection.drop", "unread_bytes", worst.unread(), "heap_bytes", heap, "bound_bytes", g.bound)
	worst.close()
}

// wireCounter is the client's side of a connection as x/crypto reads it.
type wireCounter struct {
	net.Conn
	in    *inbound
	guard *memoryGuard
}

func (w *wireCounter) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.in.wire.Add(int64(n))
		w.guard.arrivedBytes(n)
	}
	return n, err
}

// countedNewChannel counts what the agent reads from the channel once accepted.
type countedNewChannel struct {
	ssh.NewChannel
	in *inbound
}

func (nc countedNewChannel) Accept() (ssh.Channel, <-chan *ssh.Request, error) {
	ch, reqs, err := nc.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	return nc.in.counted(ch), reqs, nil
}

// counted wraps ch, a channel of the connection, so that what is read from it counts.
func (in *inbound) counted(ch ssh.Channel) ssh.Channel {
	cc := &countedChannel{Channel: ch, in: in}
	in.mu.Lock()
	in.chans[cc] = struct{}{}
	in.mu.Unlock()
	return cc
}

// countedChannel is a channel whose reads count as read for its connection.
type countedChannel struct {
	ssh.Channel
	in *inbound
}

func (ch *countedChannel) Read(p []byte) (int, error) {
	n, err := ch.Channel.Read(p)
	ch.in.read.Add(int64(n))
	return n, err
}

func (ch *countedChannel) Close() error {
	ch.in.mu.Lock()
	delete(ch.in.chans, ch)
	ch.in.mu.Unlock()
	return ch.Channel.Close()
}
