package agent

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// writeHomeAuthorizedKeys writes ~/.ssh/authorized_keys under home with content and
// mode (0 means 0600; chmod again, past the umask, so a StrictModes case gets its mode).
func writeHomeAuthorizedKeys(t *testing.T, home, content string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if mode == 0 {
		mode = 0o600
	}
	path := filepath.Join(home, ".ssh", "authorized_keys")
	if err := os.WriteFile(path, []byte(content+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// checkEchoAsked checks that a login with key succeeds exactly when wantLogin, and then
// that `echo asked` prints wantOut (a forced command prints something else).
func checkEchoAsked(t *testing.T, srv *Server, key ssh.Signer, wantLogin bool, wantOut string) {
	t.Helper()
	c, err := dial(t, srv, "tester", key)
	if got := err == nil; got != wantLogin {
		t.Fatalf("login: got %v (%v), want %v", got, err, wantLogin)
	}
	if err != nil {
		return
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Output("echo asked")
	if err != nil || string(out) != wantOut {
		t.Errorf("echo asked: got %q (%v), want %q", out, err, wantOut)
	}
}
