package integration

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// pagedOut matches the agent's debug line for a page-out of its code that asked about
// some mappings and met no error (internal/gcpolicy/page_out_linux.go).
var pagedOut = regexp.MustCompile(`msg="paged out the program's code" mapped=[1-9][0-9]* err=<nil>`)

// TestAgentPagesOutItsCodeWhenIdle: once start-up is over the agent pages out its own
// code, and again once it is idle after a login (a login is work: it faults code in).
// The memory this returns is in BENCHMARKS.md; this pins that it happens at all.
func TestAgentPagesOutItsCodeWhenIdle(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Args: []string{"--log-level", "debug"}})
	// Intervals of 2 s (gcpolicy.ReturnInterval): start-up's and then a quiet one.
	testwait.For(t, 30*time.Second, "the agent to page out its code after start-up", func() bool {
		return len(pagedOut.FindAllString(a.Logs(), -1)) >= 1
	})
	before := len(pagedOut.FindAllString(a.Logs(), -1))
	if res := a.SSH(t, sshCall{Command: "true"}); res.ExitCode != 0 {
		t.Fatalf("login: %s", res)
	}
	testwait.For(t, 30*time.Second, "the agent to page out its code again after a login", func() bool {
		return len(pagedOut.FindAllString(a.Logs(), -1)) > before
	})
	if strings.Count(a.Logs(), "paged out the program's code") != len(pagedOut.FindAllString(a.Logs(), -1)) {
		t.Errorf("a page-out failed or found no mapping of the executable:\n%s", a.Logs())
	}
}
