package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runHermeticClient runs a client to completion within clientTimeout with HOME in a fresh
// directory (no saved host keys or settings take part) and returns its combined output
// and error.
func runHermeticClient(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(withoutProxies(os.Environ()), "HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no exit within %v\n%s", name, strings.Join(args, " "), clientTimeout, out.String())
	}
	return out.String(), err
}

// curlSFTPRoundTrip uploads a file with curl's sftp:// (libssh2) and downloads it back.
func curlSFTPRoundTrip(t *testing.T, a *agent) error {
	t.Helper()
	requireTool(t, "curl", "curl")
	dir := t.TempDir()
	src := filepath.Join(dir, "up")
	if err := os.WriteFile(src, []byte("through libssh2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	remote := "sftp://" + a.Account.Name + "@127.0.0.1:" + strconv.Itoa(a.Port) + "/~/curl-" + strconv.Itoa(a.Port)
	auth := []string{"--silent", "--show-error", "--fail", "--insecure", "--key", a.IDFile, "--pubkey", a.IDFile + ".pub"}
	if out, err := runHermeticClient(t, "curl", append(auth, "-T", src, remote)...); err != nil {
		return &clientFailure{"curl -T " + remote, out, err}
	}
	back := filepath.Join(dir, "back")
	if out, err := runHermeticClient(t, "curl", append(auth, "-o", back, remote)...); err != nil {
		return &clientFailure{"curl -o back " + remote, out, err}
	}
	if got, _ := os.ReadFile(back); string(got) != "through libssh2\n" {
		t.Errorf("curl sftp:// round trip: got %q, want %q", got, "through libssh2\n")
	}
	return nil
}

// dbclientRun runs command with Dropbear's client, using id_container converted to
// Dropbear's key format.
func dbclientRun(t *testing.T, a *agent, command string) (string, error) {
	t.Helper()
	requireTool(t, "dbclient", "dropbear-bin")
	requireTool(t, "dropbearconvert", "dropbear-bin")
	key := filepath.Join(t.TempDir(), "id_dropbear")
	runOrFatal(t, "dropbearconvert", "openssh", "dropbear", a.IDFile, key)
	// -y -y: no host key checking (the fresh HOME has no known_hosts anyway).
	out, err := runHermeticClient(t, "dbclient", "-y", "-y", "-i", key, "-p", strconv.Itoa(a.Port), a.Account.Name+"@127.0.0.1", command)
	if err != nil {
		return out, &clientFailure{"dbclient", out, err}
	}
	return out, nil
}

// clientFailure is a client run that failed, with what the client printed.
type clientFailure struct {
	what, out string
	err       error
}

func (e *clientFailure) Error() string { return e.what + ": " + e.err.Error() + "\n" + e.out }

// TestLibssh2AndDropbearConnect: curl's sftp:// (libssh2 1.10) and Dropbear's dbclient,
// which have no encrypt-then-MAC MAC, connect with the default algorithms and, as
// documented, not with --algorithms strict.
func TestLibssh2AndDropbearConnect(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	if err := curlSFTPRoundTrip(t, a); err != nil {
		t.Errorf("curl sftp:// with the default algorithms: %v", err)
	}
	if out, err := dbclientRun(t, a, "echo dropbear-$((40+2))"); err != nil || !strings.Contains(out, "dropbear-42\n") {
		t.Errorf("dbclient with the default algorithms: got %q, %v; want dropbear-42", out, err)
	}

	strict := startAgent(t, agentOptions{Env: []string{"JOBSSHD_ALGORITHMS=strict"}})
	if err := curlSFTPRoundTrip(t, strict); err == nil {
		t.Errorf("curl sftp:// with JOBSSHD_ALGORITHMS=strict: connected, want no common MAC")
	}
	if out, err := dbclientRun(t, strict, "echo in"); err == nil || !strings.Contains(out, "mac") {
		t.Errorf("dbclient with JOBSSHD_ALGORITHMS=strict: got %q, %v; want no common MAC", out, err)
	}
}

// kexLine is what ssh -vv prints for each direction's negotiated algorithms.
var kexLine = regexp.MustCompile(`debug1: kex: client->server cipher: (\S+) MAC: (\S+)`)

// TestOpenSSHKeepsItsAlgorithms: adding the encrypt-and-MAC MACs after the ETM ones
// changes nothing OpenSSH negotiates: its default pick and, with a cipher that needs a
// MAC, an ETM MAC, the same as with --algorithms strict.
func TestOpenSSHKeepsItsAlgorithms(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{"default", "strict"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, agentOptions{Args: []string{"--algorithms", profile}})
			for _, tt := range []struct {
				name             string
				opts             []string
				wantCipher, want string
			}{
				{name: "client defaults", opts: nil, wantCipher: "", want: ""},
				{name: "aes128-ctr", opts: []string{"-o", "Ciphers=aes128-ctr"}, wantCipher: "aes128-ctr", want: "hmac-sha2-256-etm@openssh.com"},
				{name: "aes256-ctr, SHA-2 MACs only", opts: []string{"-o", "Ciphers=aes256-ctr", "-o", "MACs=hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256"},
					wantCipher: "aes256-ctr", want: "hmac-sha2-512-etm@openssh.com"},
			} {
				res := a.SSH(t, sshCall{Command: "true", Opts: append([]string{"-vv", "-o", "LogLevel=DEBUG2"}, tt.opts...)})
				m := kexLine.FindStringSubmatch(res.Stderr)
				if res.ExitCode != 0 || m == nil {
					t.Fatalf("%s: got %s, want exit 0 and a %q line", tt.name, res, kexLine)
				}
				cipher, mac := m[1], m[2]
				if tt.wantCipher == "" {
					// OpenSSH 9.2 asks for chacha20 (not offered), then aes128-ctr with
					// umac (not offered), then hmac-sha2-256-etm; later versions pick GCM.
					if !(cipher == "aes128-gcm@openssh.com" && mac == "<implicit>" || cipher == "aes128-ctr" && mac == "hmac-sha2-256-etm@openssh.com") {
						t.Errorf("%s: OpenSSH picked %s with %s, want aes128-gcm or aes128-ctr with hmac-sha2-256-etm", tt.name, cipher, mac)
					}
					continue
				}
				if cipher != tt.wantCipher || mac != tt.want {
					t.Errorf("%s: OpenSSH picked %s with %s, want %s with %s", tt.name, cipher, mac, tt.wantCipher, tt.want)
				}
			}
		})
	}
}
