package sftpd

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary stand in for ssh in the real-client tests: scp -O -S
// runs a wrapper that executes this binary with SCP_TEST_HELPER=1 and scp's ssh
// arguments, of which the last is the remote command ("scp -t PATH"). It is served as
// the agent would serve the exec request, with SCP_TEST_HOME as the home directory. A
// test function cannot do this: testing writes to stdout, the protocol channel, after
// it returns, and treats os.Exit(0) inside a test as a failure.
func TestMain(m *testing.M) {
	if os.Getenv("SCP_TEST_HELPER") == "1" {
		os.Exit(scpTestHelper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func scpTestHelper(sshArgs []string) int {
	if len(sshArgs) == 0 {
		fmt.Fprintln(os.Stderr, "scp test helper: no remote command")
		return 255
	}
	command := sshArgs[len(sshArgs)-1]
	args, ok := ParseSCPCommand(command)
	if !ok {
		fmt.Fprintf(os.Stderr, "scp test helper: not an scp command: %q\n", command)
		return 127
	}
	return ServeSCP(args, os.Getenv("SCP_TEST_HOME"), os.Stdin, os.Stdout, os.Stderr, Options{})
}
