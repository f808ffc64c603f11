package agent

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"jobsshd/jobtrust"
)

// PortPolicy is where the agent listens (Plan.Port): Config.Port on Config.Bind, and
// whether a taken port is fatal (Strict) or makes the agent use a random free port.
type PortPolicy struct {
	Bind string
	Port int // 0 means a random free port
	// Strict is true when a taken port is fatal; StrictBy says why ("--strict-port is
	// set", "job trust makes the port strict"), "" when it is not.
	Strict   bool
	StrictBy string
}

// PortPolicyFor is cfg's port policy once job trust is decided. Under job trust the
// port is strict: every worker's ~/.ssh/config names this worker's port, so a worker
// that fell back to a random port would be unreachable from the others (or reach
// whatever holds the port); it fails to start instead, visibly.
func PortPolicyFor(cfg Config, jobTrust jobtrust.Decision) PortPolicy {
	p := PortPolicy{Bind: cfg.Bind, Port: cfg.Port}
	switch {
	case cfg.StrictPort:
		p.Strict, p.StrictBy = true, "--strict-port is set"
	case jobTrust.On():
		p.Strict, p.StrictBy = true, strictByJobTrust
	}
	return p
}

// strictByJobTrust is PortPolicy.StrictBy under job trust.
const strictByJobTrust = "job trust makes the port strict"

// ErrPortTaken reports that the preferred port is in use (EADDRINUSE).
var ErrPortTaken = errors.New("port is taken")

// portTakenError is a taken preferred port; Strict says whether that is fatal.
type portTakenError struct {
	addr   string
	policy PortPolicy
}

func (e *portTakenError) Error() string {
	if e.policy.StrictBy == "--strict-port is set" {
		return fmt.Sprintf("listen on %s: port %d is taken and --strict-port is set: free the port or drop --strict-port", e.addr, e.policy.Port)
	}
	if e.policy.Strict {
		return fmt.Sprintf("listen on %s: port %d is taken and %s: free the port, or pass --port with a port free on every worker", e.addr, e.policy.Port, e.policy.StrictBy)
	}
	return fmt.Sprintf("listen on %s: port %d is taken", e.addr, e.policy.Port)
}

func (e *portTakenError) Unwrap() error { return ErrPortTaken }

// bindPreferred listens on the preferred port. A taken one is a *portTakenError
// (errors.Is ErrPortTaken); any other failure names --bind.
func (p PortPolicy) bindPreferred() (net.Listener, error) {
	addr := net.JoinHostPort(p.Bind, strconv.Itoa(p.Port))
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE) && p.Port != 0:
		return nil, &portTakenError{addr: addr, policy: p}
	}
	return nil, fmt.Errorf("listen on %s: %w (check --bind)", addr, err)
}

// Probe listens on the preferred port for a moment, as Listen does first, and closes
// it: nil when it is free, an error that errors.Is ErrPortTaken when it is taken (fatal
// when p.Strict, else Listen uses a random free port), or why the agent cannot listen.
// `jobsshd doctor` uses it.
func (p PortPolicy) Probe() error {
	ln, err := p.bindPreferred()
	if err != nil {
		return err
	}
	_ = ln.Close() // nothing was accepted on it
	return nil
}

// listen binds the preferred port; when it is taken and the policy is not strict, a
// random free port.
func (p PortPolicy) listen() (net.Listener, error) {
	ln, err := p.bindPreferred()
	if err == nil || !errors.Is(err, ErrPortTaken) || p.Strict {
		return ln, err
	}
	ln, err = net.Listen("tcp", net.JoinHostPort(p.Bind, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on %s (random port, since %d is taken): %w", p.Bind, p.Port, err)
	}
	return ln, nil
}

// Listen binds the preferred port (Config.Port on Config.Bind). When that port is taken
// another free port is used and reported, unless the port is strict (PortPolicyFor): a
// platform that starts jobsshd in a container whose port is already in use still gets a
// working server, and learns the port from status.json and the log. Once listening it
// writes status.json and prints how to connect.
func (s *Server) Listen() error {
	ln, err := s.port.listen()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	port := s.Port()
	if s.cfg.Port != 0 && port != s.cfg.Port {
		s.log.Warn("preferred port taken, using another", "preferred", s.cfg.Port, "port", port)
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "user", s.account.Name, "version", s.cfg.Version)
	s.writeJobClientFiles() // before status.json, which tells platforms the agent is ready
	st := s.status()
	st.Live = s.live.figures()
	if err := s.writeStatus(st); err != nil {
		ln.Close()
		return err
	}
	s.startLiveStatus(st)
	s.printConnectInfo(st)
	s.createHostKeysLater() // host_keys_later.go: status.json is rewritten as each is added
	return nil
}

// Port is the port the server listens on, once Listen succeeded.
func (s *Server) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}
