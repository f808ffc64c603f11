package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSCPLinkInShell covers WinSCP's SCP mode, which types `scp -t DIR` into a shell
// instead of sending it as an exec request, in an image whose only scp is a link to
// jobsshd (README). The command below is not a plain scp invocation (it sets PATH
// first), so the agent runs it through the user's shell, which finds the link.
func TestSCPLinkInShell(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	linkDir := traversableTempDir(t)
	if err := os.Symlink(binPath, filepath.Join(linkDir, "scp")); err != nil {
		t.Fatal(err)
	}
	target := accountTempDir(t, a.Account)

	res := a.SSH(t, sshCall{
		Command: "PATH=" + linkDir + "; export PATH; cd " + target + " && scp -t .",
		Stdin:   strings.NewReader("C0750 6 from-shell.txt\nhello\n\x00"),
	})
	// One 0 byte when ready, one after the C line, one after the data.
	if res.ExitCode != 0 || res.Stdout != "\x00\x00\x00" {
		t.Fatalf("got %v, want exit 0 and three acknowledgements", res)
	}
	path := filepath.Join(target, "from-shell.txt")
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "hello\n" {
		t.Fatalf("got %q, %v; want the uploaded content", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != a.Account.UID {
		t.Errorf("got owner uid %d, want %d", st.Uid, a.Account.UID)
	}

	// Started as scp, jobsshd is only the server side.
	res = a.SSH(t, sshCall{Command: "PATH=" + linkDir + "; export PATH; scp a b"})
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "built-in scp") {
		t.Errorf("got %v, want a failure explaining that only the server side is built in", res)
	}
}
