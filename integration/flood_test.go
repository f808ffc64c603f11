package integration

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// clientPreamble is what an SSH client sends before it waits for the server's key
// exchange reply: its version line and a valid KEXINIT (RFC 4253 §7.1) for methods the
// agent offers. Written and then left alone, it holds a place among the unauthenticated
// connections until the login grace time ends, or until a newcomer evicts it when
// places run short.
func clientPreamble() []byte {
	payload := []byte{20}
	payload = append(payload, make([]byte, 16)...) // cookie
	for _, list := range []string{"curve25519-sha256", "ssh-ed25519,rsa-sha2-256", "aes128-ctr", "aes128-ctr",
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "none", "none", "", ""} {
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(list)))
		payload = append(payload, list...)
	}
	payload = append(payload, 0, 0, 0, 0, 0) // first_kex_packet_follows, reserved
	return append([]byte("SSH-2.0-flood\r\n"), cleartextPacket(payload)...)
}

// holdUnauthenticated opens connections that send a whole preamble and the length field
// of their next packet (as if their KEXDH_INIT were on its way) until n of them were
// admitted (the agent answered with its KEXINIT, not SSH_MSG_DISCONNECT) and returns
// those; they are closed at cleanup. Such a connection goes on with its key exchange,
// so the agent evicts it for no newcomer until it has been silent for 3 s.
func holdUnauthenticated(t *testing.T, port, n int) []net.Conn {
	t.Helper()
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for tries := 0; len(held) < n; tries++ {
		if tries == 20*n {
			t.Fatalf("only %d of %d connections admitted in %d tries", len(held), n, tries)
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(append(clientPreamble(), 0, 0, 0, 44)); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		_, err = r.ReadString('\n')
		head, err2 := r.Peek(6) // packet length, padding length, message type
		if err != nil || err2 != nil {
			t.Fatalf("no version line and first packet from the agent: %v, %v", err, err2)
		}
		_ = c.SetDeadline(time.Time{})
		if head[5] == 20 { // SSH_MSG_KEXINIT: admitted; 1 (DISCONNECT): refused
			held = append(held, c)
		} else {
			c.Close()
		}
	}
	return held
}

// flood runs, until stop is closed, the three kinds of connections a stranger needs no
// key for: peers that send garbage, peers that send an oversized version line, and
// slowloris peers that send a version line a byte at a time and reconnect when dropped.
type flood struct {
	addr      string
	from      *net.TCPAddr // local address of the flood; nil means any
	garbage   atomic.Int64
	oversized atomic.Int64
	slowOpen  atomic.Int64 // slowloris connections opened, first ones and reconnects
	kexOpen   atomic.Int64 // connections that stall after a valid KEXINIT, opened
	// pace is a slowloris peer's tick: it sends a byte per tick, and reopens a dropped
	// connection at its next tick, as slowloris tools do; 0 means it reopens at once.
	pace time.Duration
	// gap is the pause of each garbage and oversized peer between its connections: with
	// 3 of each and 20 ms, about 150 a second of each kind; 0 means none.
	gap  time.Duration
	stop chan struct{}
	wg   sync.WaitGroup
	errs chan error // the first errors the peers met; see report
}

func (f *flood) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: f.from}
	return d.Dial("tcp", f.addr)
}

func (f *flood) stopped() bool {
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

// sendAndDrain writes msg and reads until the agent closes; the agent must close within
// 10 s (the login grace time is 30 s).
func (f *flood) sendAndDrain(msg []byte) error {
	c, err := f.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write(msg) // the agent may close before it has read all of it
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the agent kept a peer that sent %q... for 10 s", msg[:min(len(msg), 20)])
	}
	return nil
}

// start runs the flood: 3 garbage and 3 oversized peers, slowloris slowloris peers and
// kexStallers peers that stall after a KEXINIT. Cleanup stops it and fails the test with
// the first error a peer met.
func (f *flood) start(t *testing.T, slowloris, kexStallers int) {
	garbage := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	oversized := []byte("SSH-2.0-" + strings.Repeat("A", 4096) + "\r\n")
	f.errs = make(chan error, 16)
	for range 3 {
		f.wg.Add(2)
		go f.repeat(garbage, &f.garbage)
		go f.repeat(oversized, &f.oversized)
	}
	for range slowloris {
		f.wg.Add(1)
		go f.slowlorisPeer()
	}
	for range kexStallers {
		f.wg.Add(1)
		go f.kexStaller()
	}
	t.Cleanup(func() {
		close(f.stop)
		f.wg.Wait()
		select {
		case err := <-f.errs:
			t.Errorf("flood: %v", err)
		default:
		}
	})
}

// report keeps err for the test, unless enough are kept already.
func (f *flood) report(err error) {
	select {
	case f.errs <- err:
	default:
	}
}

// repeat sends msg on one connection after another, counting them, until the flood stops.
func (f *flood) repeat(msg []byte, count *atomic.Int64) {
	defer f.wg.Done()
	for !f.stopped() {
		if err := f.sendAndDrain(msg); err != nil {
			f.report(err)
			return
		}
		count.Add(1)
		if f.gap > 0 {
			time.Sleep(f.gap) // the attacker's pace, not the test's timing
		}
	}
}

// slowlorisPeer sends a version line a byte per 300 ms and reconnects when dropped, at
// its next tick of f.pace.
func (f *flood) slowlorisPeer() {
	defer f.wg.Done()
	for !f.stopped() {
		c, err := f.dial()
		if err != nil {
			f.report(err)
			return
		}
		opened := time.Now()
		f.slowOpen.Add(1)
		version := "SSH-2.0-slowloris-" + strings.Repeat("x", 200)
		buf := make([]byte, 512)
		for i := 0; !f.stopped(); i++ {
			if _, err := c.Write([]byte{version[i%len(version)]}); err != nil {
				break
			}
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond)) // the byte rate
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					break // dropped: reconnect
				}
			}
		}
		c.Close()
		if f.pace > 0 {
			time.Sleep(f.pace - time.Since(opened)%f.pace) // the attacker's pace, not the test's timing
		}
	}
}

// kexStaller sends a valid KEXINIT, then silence until dropped; then again.
func (f *flood) kexStaller() {
	defer f.wg.Done()
	for !f.stopped() {
		c, err := f.dial()
		if err != nil {
			f.report(err)
			return
		}
		f.kexOpen.Add(1)
		_, _ = c.Write(clientPreamble())
		for !f.stopped() {
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := c.Read(make([]byte, 4096)); err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					break
				}
			}
		}
		c.Close()
	}
}

// TestLoginDuringFlood: during 500 garbage connections, 200 oversized version lines (at
// about 150 a second each) and 100 slowloris connections (each reopened at its next
// 300 ms tick when dropped), a real
// user with OpenSSH's ssh logs in at least 9 of 10 tries, each within 5 s (issue 10,
// item 5); the same with 100 more peers that send a valid KEXINIT, then stall and
// reconnect when dropped (which once held every place). With the per-source bound on, a flood from one address that does not pause
// at all (thousands of connections a second), with 100 more peers that send a valid
// KEXINIT and then stall, leaves the others alone; without
// it such a flood from one address evicts real clients too often (README).
func TestLoginDuringFlood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		from        string // the flood's local address; "" means any
		pace, gap   time.Duration
		kexStallers int // peers that stall after a valid KEXINIT, which eviction spares
	}{
		{name: "defaults", pace: 300 * time.Millisecond, gap: 20 * time.Millisecond},
		// 100 peers that send a valid KEXINIT, stall, and reconnect when dropped, at
		// the default settings: they once held every place for the login grace time.
		{name: "KEXINIT then stall, defaults", pace: 300 * time.Millisecond, gap: 20 * time.Millisecond, kexStallers: 100},
		{name: "per-source bound", args: []string{"--max-unauthenticated-per-source", "8"}, from: "127.0.0.2", kexStallers: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAgent(t, agentOptions{Args: tt.args})
			f := &flood{addr: "127.0.0.1:" + strconv.Itoa(a.Port), stop: make(chan struct{}), pace: tt.pace, gap: tt.gap}
			if tt.from != "" {
				f.from = &net.TCPAddr{IP: net.ParseIP(tt.from)}
			}
			f.start(t, 100, tt.kexStallers)
			if !testwait.Until(20*time.Second, func() bool {
				return f.slowOpen.Load() >= 100 && f.garbage.Load() > 0 && f.oversized.Load() > 0 && f.kexOpen.Load() >= int64(tt.kexStallers)
			}) {
				t.Fatalf("the flood did not start: %d slowloris, %d garbage, %d oversized, %d KEXINIT-stalling",
					f.slowOpen.Load(), f.garbage.Load(), f.oversized.Load(), f.kexOpen.Load())
			}
			ok, slowest := 0, time.Duration(0)
			var failures []string
			// Bounded by time, not by a count of logins: a login takes a few
			// milliseconds when nothing stalls it, so a count ends before the flood
			// has reached its size.
			floodDeadline := time.Now().Add(60 * time.Second)
			for i := 0; i < 10 || f.garbage.Load() < 500 || f.oversized.Load() < 200; i++ {
				if time.Now().After(floodDeadline) {
					t.Fatalf("the flood did not reach its size within 60 s of logins: %d garbage, %d oversized; %d of the first 10 logins within 5 s:\n%s",
						f.garbage.Load(), f.oversized.Load(), ok, strings.Join(failures, "\n"))
				}
				begin := time.Now()
				res := a.SSH(t, sshCall{Command: "echo in"})
				took := time.Since(begin)
				if i >= 10 {
					continue // only the first ten count; the rest wait for the flood to reach its size
				}
				slowest = max(slowest, took)
				if res.ExitCode == 0 && res.Stdout == "in\n" && took <= 5*time.Second {
					ok++
				} else {
					failures = append(failures, fmt.Sprintf("try %d after %v: %s", i, took.Round(time.Millisecond), res))
				}
			}
			t.Logf("%d of 10 logins within 5 s (slowest %v) during %d garbage, %d oversized, %d slowloris, %d KEXINIT-stalling connections",
				ok, slowest.Round(time.Millisecond), f.garbage.Load(), f.oversized.Load(), f.slowOpen.Load(), f.kexOpen.Load())
			if ok < 9 {
				t.Errorf("%d of 10 logins succeeded within 5 s, want at least 9:\n%s", ok, strings.Join(failures, "\n"))
			}
			if os.Getenv("JOBSSHD_FLOOD_LOG") != "" {
				t.Log(a.Logs())
			}
		})
	}
}

// TestPreambleDeadline: a client that sends its version line and nothing more is
// dropped after a few seconds, not after the 30 s login grace time.
func TestPreambleDeadline(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(a.Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	begin := time.Now()
	_ = c.SetDeadline(begin.Add(20 * time.Second))
	if _, err := io.WriteString(c, "SSH-2.0-idle\r\n"); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, c)
	took := time.Since(begin)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || took > 10*time.Second {
		t.Fatalf("a client silent after its version line was kept %v (%v), want dropped within 10 s", took.Round(time.Millisecond), err)
	}
	// A client that sent its KEXINIT has the whole login grace time.
	held := holdUnauthenticated(t, a.Port, 1)
	_ = held[0].SetReadDeadline(time.Now().Add(8 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := held[0].Read(buf); err != nil {
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("a client past its KEXINIT was dropped before the login grace time: %v", err)
			}
			break
		}
	}
}
