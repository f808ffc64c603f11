package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// newCA makes a certificate authority key pair with ssh-keygen; it returns the private
// key's path (the public key is path+".pub").
func newCA(t *testing.T, name string) string {
	t.Helper()
	return newClientKey(t, name)
}

// certifiedKey makes a fresh key and has ca sign it with ssh-keygen -s and the given
// extra arguments (-n principals, -V validity, -O options); ssh -i KEY then also offers
// KEY-cert.pub. It returns the key's path.
func certifiedKey(t *testing.T, ca, name string, args ...string) string {
	t.Helper()
	key := newClientKey(t, name)
	signArgs := append([]string{"-q", "-s", ca, "-I", name + "-id", "-z", "42"}, args...)
	runOrFatal(t, "ssh-keygen", append(signArgs, key+".pub")...)
	if _, err := os.Stat(key + "-cert.pub"); err != nil {
		t.Fatalf("ssh-keygen -s made no certificate: %v", err)
	}
	return key
}

func TestUserCertificates(t *testing.T) {
	t.Parallel()
	ca, otherCA, deployCA := newCA(t, "ca"), newCA(t, "other-ca"), newCA(t, "deploy-ca")
	caFile := filepath.Join(traversableTempDir(t), "trusted-user-ca.pub")
	if err := os.WriteFile(caFile, []byte(pub(t, ca)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keysFile := platformKeysFile(t, `cert-authority,principals="deploy,ops" `+pub(t, deployCA))
	a := startAgent(t, agentOptions{Args: []string{"--trusted-user-ca", caFile, "--authorized-keys", keysFile}})
	user := a.Account.Name
	tests := []struct {
		name    string
		ca      string
		sign    []string
		opts    []string
		command string
		wantOK  bool
		want    string // on stdout when wantOK, else in stderr or the agent's log
	}{
		{name: "valid", ca: ca, sign: []string{"-n", user, "-V", "-5m:+1h"}, command: "echo in", wantOK: true, want: "in"},
		{name: "expired", ca: ca, sign: []string{"-n", user, "-V", "20200101:20200102"}, command: "echo in", want: "expired"},
		{name: "not yet valid", ca: ca, sign: []string{"-n", user, "-V", "+1d:+2d"}, command: "echo in", want: "not yet valid"},
		{name: "wrong principal", ca: ca, sign: []string{"-n", "someone-else", "-V", "-5m:+1h"}, command: "echo in", want: "do not include"},
		// x/crypto ≥ v0.59.0's CheckCert refuses this too; the agent says so first.
		{name: "no principals", ca: ca, sign: []string{"-V", "-5m:+1h"}, command: "echo in", want: "lists no principals"},
		{name: "wrong CA", ca: otherCA, sign: []string{"-n", user, "-V", "-5m:+1h"}, command: "echo in", want: "not trusted"},
		{name: "force-command", ca: ca, sign: []string{"-n", user, "-O", "force-command=echo cert-forced:$SSH_ORIGINAL_COMMAND"},
			command: "echo asked", wantOK: true, want: "cert-forced:echo asked"},
		{name: "source-address elsewhere", ca: ca, sign: []string{"-n", user, "-O", "source-address=192.0.2.0/24"}, command: "echo in", want: "source-address"},
		{name: "source-address here", ca: ca, sign: []string{"-n", user, "-O", "source-address=10.0.0.0/8,127.0.0.1"}, command: "echo in", wantOK: true, want: "in"},
		{name: "no permit-pty", ca: ca, sign: []string{"-n", user, "-O", "no-pty"}, opts: []string{"-tt"}, command: "tty", want: "PTY allocation request failed"},
		{name: "permit-pty by default", ca: ca, sign: []string{"-n", user}, opts: []string{"-tt"}, command: "tty", wantOK: true, want: "/dev/pts/"},
		{name: "cert-authority line principal", ca: deployCA, sign: []string{"-n", "ops"}, command: "echo in", wantOK: true, want: "in"},
		{name: "cert-authority line other principal", ca: deployCA, sign: []string{"-n", user}, command: "echo in", want: "do not include"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := certifiedKey(t, tt.ca, strings.ReplaceAll(tt.name, " ", "-"), tt.sign...)
			res := a.SSH(t, sshCall{Key: key, Opts: tt.opts, Command: tt.command})
			if tt.wantOK {
				if res.ExitCode != 0 || !strings.Contains(res.Stdout, tt.want) {
					t.Errorf("got %s, want exit 0 with %q on stdout\nagent log:\n%s", res, tt.want, a.Logs())
				}
				return
			}
			logged := func() bool { return strings.Contains(a.Logs(), tt.want) }
			if res.ExitCode == 0 || !(strings.Contains(res.Stderr, tt.want) || testwait.Until(5*time.Second, logged)) {
				t.Errorf("got %s, want a refusal mentioning %q\nagent log:\n%s", res, tt.want, a.Logs())
			}
		})
	}
	// A refusal names the certificate's key ID, so an operator can tell which one.
	if !strings.Contains(a.Logs(), "wrong-CA-id") {
		t.Errorf("the agent log does not name the refused certificate's key ID:\n%s", a.Logs())
	}
}
