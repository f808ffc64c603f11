package doctor

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// checkPort listens on the preferred port for a moment, as the agent does at start
// (agent.Server.Listen): a taken port makes the agent pick a random free one, or fail
// when the port is strict. strictBy says why it is ("--strict-port is set"), "" when it
// is not.
func checkPort(r *Report, bind string, port int, strictBy string) {
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	if port == 0 {
		r.info("port 0: jobsshd listens on a random free port and reports it in status.json and its log")
		return
	}
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		_ = ln.Close() // nothing was accepted on it
		r.ok("port %d is free on %s", port, listenAddrName(bind))
	case errors.Is(err, syscall.EADDRINUSE) && strictBy != "":
		other := "drop --strict-port"
		if !strings.Contains(strictBy, "--strict-port") {
			other = "pass --port with a port free on every worker"
		}
		r.fail(fmt.Sprintf("free port %d (ss -ltnp 'sport = :%d' shows who holds it), or %s", port, port, other),
			"port %d is taken on %s and %s: jobsshd will not start", port, listenAddrName(bind), strictBy)
	case errors.Is(err, syscall.EADDRINUSE):
		r.warn(fmt.Sprintf("free port %d (ss -ltnp 'sport = :%d' shows who holds it), or pass --port with a free one", port, port),
			"port %d is taken on %s: jobsshd will use a random free port unless --strict-port", port, listenAddrName(bind))
	default:
		r.fail("check --bind and --port (ports below 1024 need root)", "listen on %s: %v: jobsshd will not start", addr, err)
	}
}

func listenAddrName(bind string) string {
	if bind == "" {
		return "all interfaces"
	}
	return bind
}
