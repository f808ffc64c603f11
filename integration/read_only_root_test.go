package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readOnlyRoot is a wrapper that runs the agent in a mount namespace of its own where
// the root file system is read-only, as in a container run with --read-only, except
// for writable, a directory that stays writable (standing for the tmpfs and volumes
// such a container is given).
func readOnlyRoot(t *testing.T, writable string) []string {
	t.Helper()
	requireTool(t, "unshare", "util-linux")
	const script = `w=$1; shift
mount --make-rprivate / && mount --bind "$w" "$w" && mount -o remount,ro,bind / || exit 97
if touch /.jobsshd-read-only-probe 2>/dev/null; then rm -f /.jobsshd-read-only-probe; exit 98; fi
exec "$@"`
	return []string{"unshare", "-m", "sh", "-c", script, "sh", writable}
}

// TestReadOnlyRoot: with the root file system read-only and only the state directory
// and a home-like directory writable, the agent starts as root and ssh, sftp and scp
// get in: it writes nowhere else (issue 13).
func TestReadOnlyRoot(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, defaultTestUser)
	writable := accountTempDir(t, acct) // owned by the account: id_container and uploads go there
	if err := os.Chmod(writable, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(writable, "state") // created by the agent, as root, 0700
	a := startAgent(t, agentOptions{StateDir: stateDir, IDFile: filepath.Join(writable, "id_container"),
		Wrapper: readOnlyRoot(t, writable)})
	if res := a.SSH(t, sshCall{Command: "touch /jobsshd-ro-check 2>/dev/null && echo writable || echo read-only"}); res.ExitCode != 0 || res.Stdout != "read-only\n" {
		t.Fatalf("the session should see a read-only root: %v", res)
	}
	local := filepath.Join(t.TempDir(), "up.txt")
	writeFile(t, local, "payload\n", 0o644)
	if res := a.sftpBatch(t, "put "+local+" "+filepath.Join(writable, "viasftp.txt")+"\n"); res.ExitCode != 0 {
		t.Errorf("sftp put: %v", res)
	}
	if res := a.scp(t, "-O", local, a.remote(filepath.Join(writable, "viascp-O.txt"))); res.ExitCode != 0 {
		t.Errorf("scp -O: %v", res)
	}
	if res := a.scp(t, local, a.remote(filepath.Join(writable, "viascp.txt"))); res.ExitCode != 0 {
		t.Errorf("scp: %v", res)
	}
	for _, name := range []string{"viasftp.txt", "viascp-O.txt", "viascp.txt"} {
		if b, err := os.ReadFile(filepath.Join(writable, name)); err != nil || string(b) != "payload\n" {
			t.Errorf("%s: %q, %v; want the payload", name, b, err)
		}
	}
}

// TestReadOnlyRootDefaultStateDir: as root on a read-only root file system, the default
// state directory (/var/lib/jobsshd) cannot be made; the agent says how to fix that.
func TestReadOnlyRootDefaultStateDir(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, defaultTestUser)
	if _, err := os.Lstat("/var/lib/jobsshd"); err == nil {
		t.Fatalf("/var/lib/jobsshd exists on this machine; the test needs it missing")
	}
	writable := accountTempDir(t, acct)
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	argv := append(readOnlyRoot(t, writable), binPath, "--user", acct.Name, "--bind", "127.0.0.1", "--port", "0",
		"--id-file", filepath.Join(writable, "id_container"))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = agentEnv(nil)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 || !strings.Contains(string(out), "read-only") ||
		!strings.Contains(string(out), "JOBSSHD_STATE_DIR") {
		t.Errorf("got %v:\n%s\nwant exit 1 naming the read-only file system and JOBSSHD_STATE_DIR", err, out)
	}
}
