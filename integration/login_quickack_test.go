package integration

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestLoginsOverTCPAndWeb: OpenSSH without a terminal, whose Nagle's algorithm is on
// (the client the agent's quick ACKs during the login are for, agent/quickack_linux.go),
// logs in over TCP and over /ssh through `jobsshd proxy`, several times in a row, and a
// megabyte goes through each session once the login has disarmed the quick ACKs.
func TestLoginsOverTCPAndWeb(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"tcp", nil},
		{"web", w.proxyCommand()},
	} {
		for i := range 3 {
			res := w.SSH(t, sshCall{Opts: tc.opts, Command: "wc -c", Stdin: bytes.NewReader(data)})
			if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != strconv.Itoa(len(data)) {
				t.Errorf("%s login %d: %s, want %d bytes counted", tc.name, i+1, res, len(data))
			}
		}
	}
}
