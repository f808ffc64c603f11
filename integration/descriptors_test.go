package integration

import (
	"strings"
	"testing"
)

// TestForwardsCannotExhaustDescriptors: one user holding as many forwarded connections
// as the per-connection limits allow must not run the agent out of descriptors, or
// every new login fails (issue 10, suspected). The agent runs with an open-file limit
// of 300 (prlimit); one client opens 1024 direct-tcpip channels (the per-connection
// bound) to a listener that holds them; then a real login must still work.
func TestForwardsCannotExhaustDescriptors(t *testing.T) {
	t.Parallel()
	prlimit := requireTool(t, "prlimit", "util-linux")
	a := startAgent(t, agentOptions{Wrapper: []string{prlimit, "--nofile=300:300"}})

	target := holdingListener(t)
	client := dialAgent(t, a)
	opened, refusal := 0, ""
	for range 1024 {
		c, err := client.Dial("tcp", target)
		if err != nil {
			refusal = err.Error()
			continue
		}
		defer c.Close()
		opened++
	}
	t.Logf("%d of 1024 forwarded connections opened; first refusal: %s", opened, refusal)
	if opened == 0 {
		t.Fatal("no forwarded connection could be opened")
	}
	if res := a.SSH(t, sshCall{Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("with %d forwarded connections held, a new login: got %s, want exit 0 and \"in\\n\"", opened, res)
	}
	if opened == 1024 {
		t.Errorf("all 1024 forwarded connections opened under a limit of 300 descriptors: want a refusal")
	} else if !strings.Contains(refusal, "short of file descriptors") {
		t.Errorf("refusal %q does not say why", refusal)
	}
}
