package agent

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestUserKeyRestrictedByItsLine: id_container follows the job key's rule (one rule for
// the keys the agent trusts on its own authority): an authorized_keys line listing it
// restricts it, and a rejected line naming it refuses it; but an authorized_keys that
// fails StrictModes does not lock the account out of id_container.
func TestUserKeyRestrictedByItsLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lines     string // USERKEY stands for the id_container key
		mode      os.FileMode
		wantLogin bool
		wantOut   string
	}{
		{name: "not listed", lines: "# nothing", wantLogin: true, wantOut: "asked\n"},
		{name: "restricted by its line", lines: `restrict,command="echo ID-FORCED" USERKEY`, wantLogin: true, wantOut: "ID-FORCED\n"},
		{name: "from= does not decide", lines: `from="192.0.2.1",command="echo ID-FORCED" USERKEY`, wantLogin: true, wantOut: "ID-FORCED\n"},
		{name: "its line invalid", lines: `from="10.0.0.2/8",command="echo ID-FORCED" USERKEY`},
		{name: "authorized_keys fails StrictModes", lines: `command="echo ID-FORCED" USERKEY`, mode: 0o666, wantLogin: true, wantOut: "asked\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: home, Shell: "/bin/sh"}
			srv, idContainer := startTestServerFor(t, acct, func(c *Config) { c.Environ = []string{"PATH=/bin:/usr/bin"} })
			userKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(idContainer.PublicKey())))
			writeHomeAuthorizedKeys(t, home, strings.ReplaceAll(tt.lines, "USERKEY", userKey), tt.mode)
			checkEchoAsked(t, srv, idContainer, tt.wantLogin, tt.wantOut)
		})
	}
}
