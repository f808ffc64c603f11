package doctor

import (
	"errors"
	"fmt"
	"strings"

	"jobsshd/agent"
)

// checkPort listens on the preferred port for a moment, as the agent does at start
// (agent.PortPolicy.Probe, the first step of Listen): a taken port makes the agent pick
// a random free one, or fail when the port is strict (p.StrictBy says why).
func checkPort(r *Report, p agent.PortPolicy) {
	if p.Port == 0 {
		r.info("port 0: jobsshd listens on a random free port and reports it in status.json and its log")
		return
	}
	err := p.Probe()
	switch {
	case err == nil:
		r.ok("port %d is free on %s", p.Port, listenAddrName(p.Bind))
	case errors.Is(err, agent.ErrPortTaken) && p.Strict:
		other := "drop --strict-port"
		if !strings.Contains(p.StrictBy, "--strict-port") {
			other = "pass --port with a port free on every worker"
		}
		r.fail(fmt.Sprintf("free port %d (ss -ltnp 'sport = :%d' shows who holds it), or %s", p.Port, p.Port, other),
			"port %d is taken on %s and %s: jobsshd will not start", p.Port, listenAddrName(p.Bind), p.StrictBy)
	case errors.Is(err, agent.ErrPortTaken):
		r.warn(fmt.Sprintf("free port %d (ss -ltnp 'sport = :%d' shows who holds it), or pass --port with a free one", p.Port, p.Port),
			"port %d is taken on %s: jobsshd will use a random free port unless --strict-port", p.Port, listenAddrName(p.Bind))
	default:
		r.fail("check --bind and --port (ports below 1024 need root)", "%v: jobsshd will not start", err)
	}
}

func listenAddrName(bind string) string {
	if bind == "" {
		return "all interfaces"
	}
	return bind
}
