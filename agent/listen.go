package agent

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Listen binds the preferred port (Config.Port on Config.Bind). When that port is taken
// another free port is used and reported, unless StrictPort is set: a platform that
// starts jobsshd in a container whose port is already in use still gets a working
// server, and learns the port from status.json and the log. Once listening it writes
// status.json and prints how to connect.
func (s *Server) Listen() error {
	ln, err := listenPreferred(s.cfg.Bind, s.cfg.Port, s.cfg.StrictPort)
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
	if err := s.writeStatus(); err != nil {
		ln.Close()
		return err
	}
	s.printConnectInfo()
	return nil
}

// Port is the port the server listens on, once Listen succeeded.
func (s *Server) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

func listenPreferred(bind string, port int, strict bool) (net.Listener, error) {
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) || port == 0 {
		return nil, fmt.Errorf("listen on %s: %w (check --bind)", addr, err)
	}
	if strict {
		return nil, fmt.Errorf("listen on %s: port %d is taken and --strict-port is set: free the port or drop --strict-port", addr, port)
	}
	ln, err = net.Listen("tcp", net.JoinHostPort(bind, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on %s (random port, since %d is taken): %w", bind, port, err)
	}
	return ln, nil
}
