package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// chattyAccount has rc files that print, as many users' do; only TestTransferChattyRCFiles
// serves it.
const chattyAccount = "jobtest-chatty"

// TestTransferChattyRCFiles: a .bashrc and .profile that print do not corrupt file
// transfers. OpenSSH's sshd runs sftp-server and `scp -t` through the user's shell, and
// Debian's bash reads .bashrc for commands run by sshd, so their output lands in the
// protocol stream ("Received message too long 1751477356"). jobsshd starts its own
// sftp-server and scp directly.
func TestTransferChattyRCFiles(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, chattyAccount)
	for name, text := range map[string]string{
		".bashrc":  "echo hello from bashrc\necho hello from bashrc on stderr >&2\n",
		".profile": "echo hello from profile\n. \"$HOME/.bashrc\"\n",
	} {
		p := filepath.Join(acct.Home, name)
		writeFile(t, p, text, 0o644)
		if err := os.Chown(p, acct.UID, acct.GID); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(p) }) // the account is only this test's
	}
	a := startAgent(t, agentOptions{User: chattyAccount})
	// The rc files do run (else this test would prove nothing).
	if out := a.Run(t, "true"); !strings.Contains(out, "hello from bashrc") {
		t.Fatalf("ssh true printed %q: the .bashrc was not read, the test cannot show anything", out)
	}
	rel, abs := userDir(t, acct)
	local := t.TempDir()
	orig := filepath.Join(local, "orig.bin")
	writeRandomFile(t, orig, 1<<20+1, 6, 0o644)

	roundTripSFTPAndSCP(t, a, orig, local, rel, abs)
	requireOwnedBy(t, abs, acct)
}

// TestTransferWithoutSystemBinaries: sftp, scp in both protocols and pscp work in an
// image that has no scp and no sftp-server. The agent runs in a private mount namespace
// where /usr/bin/scp and OpenSSH's sftp-server are /dev/null (not executable), so
// anything that tried to run them would fail.
func TestTransferWithoutSystemBinaries(t *testing.T) {
	t.Parallel()
	requireTool(t, "unshare", "util-linux")
	requireTool(t, "mount", "mount")
	var hidden []string
	for _, p := range []string{"/usr/bin/scp", "/usr/lib/openssh/sftp-server", "/usr/lib/sftp-server"} {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			if p == "/usr/bin/scp" {
				t.Fatalf("%s: %v (apt-get install openssh-client)", p, err)
			}
			continue // not installed: nothing to hide
		}
		if !slices.Contains(hidden, real) {
			hidden = append(hidden, real)
		}
	}
	script := ""
	for _, p := range hidden {
		script += "mount --bind /dev/null '" + p + "' && "
	}
	script += `exec "$0" "$@"`
	a := startAgent(t, agentOptions{Wrapper: []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script}})

	// From inside a session: no executable scp on PATH, no sftp-server.
	check := `for d in $(echo "$PATH" | tr : ' '); do [ -f "$d/scp" ] && [ -x "$d/scp" ] && echo "$d/scp"; done; ` +
		`for f in ` + strings.Join(hidden, " ") + `; do [ -f "$f" ] && [ -x "$f" ] && echo "$f"; done; true`
	if out := a.Run(t, check); out != "" {
		t.Fatalf("the session can still run %q; the test cannot show anything", out)
	}
	if res := a.SSH(t, sshCall{Command: "scp -V"}); res.ExitCode == 0 {
		t.Fatalf("scp -V in a session: %s, want it to fail (scp hidden)", res)
	}

	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	orig := filepath.Join(local, "orig.bin")
	writeRandomFile(t, orig, 1<<20+2, 7, 0o644)
	roundTripSFTPAndSCP(t, a, orig, local, rel, abs)
	t.Run("pscp -scp", func(t *testing.T) {
		if res := a.pscp(t, "-scp", orig, a.remote(rel+"/pscp.bin")); res.ExitCode != 0 {
			t.Fatalf("pscp -scp upload: %s, want exit 0", res)
		}
		requireSameContent(t, orig, filepath.Join(abs, "pscp.bin"))
		if res := a.pscp(t, "-scp", a.remote(rel+"/pscp.bin"), filepath.Join(local, "pscp.back")); res.ExitCode != 0 {
			t.Fatalf("pscp -scp download: %s, want exit 0", res)
		}
		requireSameContent(t, orig, filepath.Join(local, "pscp.back"))
	})
	requireOwnedBy(t, abs, a.Account)
}

// roundTripSFTPAndSCP uploads orig into the account's directory (rel for the client,
// abs on disk) and downloads it into local with sftp and with scp in both protocols,
// checking the content each way.
func roundTripSFTPAndSCP(t *testing.T, a *agent, orig, local, rel, abs string) {
	t.Helper()
	t.Run("sftp", func(t *testing.T) {
		res := a.sftpBatch(t, "put "+orig+" "+rel+"/sftp.bin\nget "+rel+"/sftp.bin "+filepath.Join(local, "sftp.back")+"\n")
		if res.ExitCode != 0 {
			t.Fatalf("sftp -b put, get: %s, want exit 0", res)
		}
		requireSameContent(t, orig, filepath.Join(abs, "sftp.bin"))
		requireSameContent(t, orig, filepath.Join(local, "sftp.back"))
	})
	for _, mode := range scpModes {
		t.Run("scp "+mode.name, func(t *testing.T) {
			up := append(append([]string(nil), mode.flags...), orig, a.remote(rel+"/scp-"+mode.name+".bin"))
			if res := a.scp(t, up...); res.ExitCode != 0 {
				t.Fatalf("scp %s: %s, want exit 0", strings.Join(up, " "), res)
			}
			requireSameContent(t, orig, filepath.Join(abs, "scp-"+mode.name+".bin"))
			back := filepath.Join(local, "scp-"+mode.name+".back")
			down := append(append([]string(nil), mode.flags...), a.remote(rel+"/scp-"+mode.name+".bin"), back)
			if res := a.scp(t, down...); res.ExitCode != 0 {
				t.Fatalf("scp %s: %s, want exit 0", strings.Join(down, " "), res)
			}
			requireSameContent(t, orig, back)
		})
	}
}
