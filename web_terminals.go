//go:build linux

package main

import (
	"jobsshd/agent"
	"jobsshd/web"
)

// agentTerminals starts the web server's /terminal shells in the agent, through the
// SSH session path (agent/web_terminal.go). package web and package agent do not
// import each other; this is where they meet.
type agentTerminals struct{ srv *agent.Server }

func (a agentTerminals) StartTerminal(req web.TerminalRequest) (web.Terminal, error) {
	t, err := a.srv.StartWebTerminal(agent.WebTerminalRequest{Remote: req.Remote, Local: req.Local, Cols: req.Cols, Rows: req.Rows})
	if err != nil {
		return nil, err
	}
	return t, nil
}
