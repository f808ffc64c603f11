package integration

import (
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// shellProbe is what the tests below feed a session: a shell that reads it prints
// "42" (the arithmetic is not in the text, so a terminal's echo of the input does
// not print it), then exits, so a wrongly started shell still ends the session.
const shellProbe = "echo $((6*7))\nexit\n"

// TestForcedEmptyCommandRunsNoShell pins issue 10, item 17: a forced command that is
// empty (command="" on an authorized_keys line, an empty force-command in a
// certificate) is `shell -c ""`, which exits at once, as with OpenSSH's sshd; it never
// opens the account's interactive login shell, with or without a terminal.
func TestForcedEmptyCommandRunsNoShell(t *testing.T) {
	t.Parallel()
	plain, restrictPTY := newClientKey(t, "forced-empty"), newClientKey(t, "forced-empty-pty")
	ca := newCA(t, "forced-empty-ca")
	caFile := filepath.Join(traversableTempDir(t), "trusted-user-ca.pub")
	if err := os.WriteFile(caFile, []byte(pub(t, ca)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keysFile := platformKeysFile(t,
		`command="",no-pty,no-port-forwarding `+pub(t, plain),
		`restrict,pty,command="" `+pub(t, restrictPTY))
	a := startAgent(t, agentOptions{Args: []string{"--authorized-keys", keysFile, "--trusted-user-ca", caFile}})
	certKey := emptyForceCommandCertificate(t, ca, "forced-empty-cert", a.Account.Name)
	tests := []struct {
		name string
		key  string
		opts []string
	}{
		{name: "command empty, exec true", key: plain},
		{name: "restrict,pty,command empty, ssh -tt", key: restrictPTY, opts: []string{"-tt"}},
		{name: "certificate with empty force-command", key: certKey},
		{name: "certificate with empty force-command, ssh -tt", key: certKey, opts: []string{"-tt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.SSH(t, sshCall{Key: tt.key, Opts: tt.opts, Command: "true", Stdin: strings.NewReader(shellProbe)})
			if strings.Contains(res.Stdout, "42") || res.ExitCode != 0 {
				t.Errorf("got %s, want exit 0 and no output from a shell (`sh -c \"\"` exits at once)\nagent log:\n%s", res, a.Logs())
			}
		})
	}
	if !strings.Contains(a.Logs(), "running the key's forced command") {
		t.Errorf("the agent did not log running a forced command:\n%s", a.Logs())
	}
}

// TestEmptyExecRunsNoShell: a client's exec request with an empty command is
// `shell -c ""` too (OpenSSH's session.c starts a login shell only for a "shell"
// request), so it prints nothing and exits 0. OpenSSH's ssh client sends a shell
// request for an empty command line, so the request is made with x/crypto's client.
func TestEmptyExecRunsNoShell(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	signer := loadSigner(t, a.IDFile)
	client, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), &ssh.ClientConfig{
		User: a.Account.Name, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("log in with id_container: %v", err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sess.Stdin = strings.NewReader(shellProbe)
	var out strings.Builder
	sess.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- sess.Run("") }()
	select {
	case err = <-done:
	case <-time.After(clientTimeout):
		t.Fatal("exec \"\" did not end")
	}
	// io.EOF is the probe's copy to stdin finding the channel closed: `sh -c ""` may exit
	// before the copy ends. x/crypto's Wait returns it only when the exit status was 0
	// (a non-zero one or none at all comes first), so it still means exit 0.
	if (err != nil && !errors.Is(err, io.EOF)) || out.String() != "" {
		t.Errorf("exec \"\": got error %v and stdout %q, want exit 0 and no output", err, out.String())
	}
}

// loadSigner reads an unencrypted private key file.
func loadSigner(t *testing.T, path string) ssh.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return s
}

// emptyForceCommandCertificate makes a key and a certificate for it, signed by ca, for
// principal, whose force-command is empty. ssh-keygen refuses an empty force-command, so
// the certificate is made with x/crypto; ssh -i KEY offers KEY-cert.pub.
func emptyForceCommandCertificate(t *testing.T, ca, name, principal string) string {
	t.Helper()
	key := newClientKey(t, name)
	caSigner, userSigner := loadSigner(t, ca), loadSigner(t, key)
	cert := &ssh.Certificate{
		Key: userSigner.PublicKey(), CertType: ssh.UserCert, KeyId: name, Serial: 17, ValidPrincipals: []string{principal},
		ValidAfter: uint64(time.Now().Add(-5 * time.Minute).Unix()), ValidBefore: uint64(time.Now().Add(time.Hour).Unix()),
		Permissions: ssh.Permissions{
			CriticalOptions: map[string]string{"force-command": ""},
			Extensions:      map[string]string{"permit-pty": ""},
		},
	}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return key
}
