package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestTransferFullDisk: an upload into a full file system fails at the client with an
// error that says so, and the agent goes on serving. The file system is an 8 MiB tmpfs;
// the upload is 16 MiB.
func TestTransferFullDisk(t *testing.T) {
	t.Parallel()
	requireTool(t, "mount", "mount")
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	full := filepath.Join(traversableTempDir(t), "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	runOrFatal(t, "mount", "-t", "tmpfs", "-o", "size=8m,mode=1777", "tmpfs", full)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", full).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", full, err, out)
		}
	})
	local := t.TempDir()
	big, small := filepath.Join(local, "big.bin"), filepath.Join(local, "small.txt")
	writeRandomFile(t, big, 16<<20, 8, 0o644)
	writeFile(t, small, "still serving\n", 0o644)

	tests := []struct {
		name string
		run  func(t *testing.T, dst string) sshResult
		want []string // one of these in the client's stderr
	}{
		{
			name: "sftp",
			run:  func(t *testing.T, dst string) sshResult { return a.sftpBatch(t, "put "+big+" "+dst+"\n") },
			// SFTP v3 has no "no space" status (RFC draft-ietf-secsh-filexfer-02 §7):
			// FAILURE, ideally with the system's message.
			want: []string{"No space left", "Failure"},
		},
		{
			name: "scp sftp",
			run:  func(t *testing.T, dst string) sshResult { return a.scp(t, big, a.remote(dst)) },
			want: []string{"No space left", "Failure"},
		},
		{
			name: "scp legacy",
			run:  func(t *testing.T, dst string) sshResult { return a.scp(t, "-O", big, a.remote(dst)) },
			// The legacy protocol carries the server's message as text.
			want: []string{"No space left"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(full, "upload.bin")
			t.Cleanup(func() { _ = os.Remove(dst) }) // room for the next case
			res := tt.run(t, dst)
			t.Logf("client: %s", res)
			if res.ExitCode == 0 || !containsAny(res.Stderr, tt.want...) {
				t.Errorf("16 MiB upload into an 8 MiB tmpfs: %s, want a non-zero exit and one of %q", res, tt.want)
			}
			// The agent still serves, and transfers elsewhere work.
			after := rel + "/after-" + string(rune('a'+i)) + ".txt"
			if res := a.sftpBatch(t, "put "+small+" "+after+"\n"); res.ExitCode != 0 {
				t.Fatalf("small upload after the failed one: %s, want exit 0", res)
			}
			requireSameContent(t, small, filepath.Join(a.Account.Home, after))
		})
	}
	if got := a.Run(t, "echo alive"); got != "alive\n" {
		t.Errorf("login after the full-disk uploads: %q, want \"alive\\n\"", got)
	}
	requireOwnedBy(t, abs, a.Account)
}

// TestTransferClientKilled: a client killed in the middle of a transfer (its process
// group: sftp or scp and their ssh) leaves the agent serving and no process behind. The
// transferred files are sparse and large enough that no transfer ends by itself first.
func TestTransferClientKilled(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	const size = 16 << 30 // sparse: no disk, and minutes to transfer
	remoteBig, localBig := filepath.Join(abs, "big.bin"), filepath.Join(local, "big.bin")
	for _, p := range []string{remoteBig, localBig} {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(remoteBig, a.Account.UID, a.Account.GID); err != nil {
		t.Fatal(err)
	}
	for _, tt := range clientKillCases(t, a, rel, abs, local) {
		t.Run(tt.name, func(t *testing.T) { killClientMidTransfer(t, a, tt) })
	}
	if !a.running() {
		t.Fatalf("the agent exited")
	}
	// The partial uploads are the user's too.
	requireOwnedBy(t, abs, a.Account)
}

// clientKillCase is a client command line TestTransferClientKilled kills mid-transfer.
type clientKillCase struct {
	name     string
	args     []string // sftp or scp command line
	progress string   // the file that grows while the transfer runs
}

// clientKillCases are sftp get and put and scp's downloads and legacy upload of big.bin
// in the account's directory rel (abs) and the local directory local.
func clientKillCases(t *testing.T, a *agent, rel, abs, local string) []clientKillCase {
	t.Helper()
	localBig := filepath.Join(local, "big.bin")
	batch := func(name, commands string) string {
		p := filepath.Join(local, name)
		writeFile(t, p, commands, 0o600)
		return p
	}
	copyOpts := hermeticCopyOptions(a.IDFile, a.Port)
	return []clientKillCase{
		{
			name:     "sftp get",
			args:     append([]string{"sftp", "-b", batch("get", "get "+rel+"/big.bin "+filepath.Join(local, "sftp-get.bin")+"\n")}, append(copyOpts, a.destination())...),
			progress: filepath.Join(local, "sftp-get.bin"),
		},
		{
			name:     "sftp put",
			args:     append([]string{"sftp", "-b", batch("put", "put "+localBig+" "+rel+"/sftp-put.bin\n")}, append(copyOpts, a.destination())...),
			progress: filepath.Join(abs, "sftp-put.bin"),
		},
		{
			name:     "scp sftp download",
			args:     append(append([]string{"scp"}, copyOpts...), a.remote(rel+"/big.bin"), filepath.Join(local, "scp-get.bin")),
			progress: filepath.Join(local, "scp-get.bin"),
		},
		{
			name:     "scp legacy download",
			args:     append(append([]string{"scp", "-O"}, copyOpts...), a.remote(rel+"/big.bin"), filepath.Join(local, "scp-O-get.bin")),
			progress: filepath.Join(local, "scp-O-get.bin"),
		},
		{
			name:     "scp legacy upload",
			args:     append(append([]string{"scp", "-O"}, copyOpts...), localBig, a.remote(rel+"/scp-O-put.bin")),
			progress: filepath.Join(abs, "scp-O-put.bin"),
		},
	}
}

// killClientMidTransfer starts tt's client, kills its process group once the transfer is
// under way, and checks that the agent serves on with no process left behind.
func killClientMidTransfer(t *testing.T, a *agent, tt clientKillCase) {
	agentPID := a.cmd.Process.Pid
	requireTool(t, tt.args[0], "openssh-client")
	cmd := exec.Command(tt.args[0], tt.args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to kill ssh with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	defer func() {
		if !killed {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	growing := func() bool {
		fi, err := os.Stat(tt.progress)
		return err == nil && fi.Size() > 0 && len(transferChildren(agentPID)) > 0
	}
	if !testwait.Until(20*time.Second, growing) {
		t.Fatalf("no transfer under way after 20s (%s grows: no, or no sftp-server/scp under the agent: %v); client output:\n%s",
			tt.progress, descendants(agentPID), out.String())
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-exited:
		killed = true
		t.Fatalf("%s ended by itself (%v) before it was killed; the test needs a longer transfer:\n%s", tt.name, err, out.String())
	default:
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the client: %v", err)
	}
	killed = true
	<-exited

	if got := a.Run(t, "echo alive"); got != "alive\n" {
		t.Errorf("login after the killed transfer: %q, want \"alive\\n\"", got)
	}
	if !testwait.Until(10*time.Second, func() bool { return len(descendants(agentPID)) == 0 }) {
		t.Errorf("10s after the client was killed the agent still has processes: %v", descendants(agentPID))
	}
}

// TestTransferStuckOnFIFOEndsAfterHangup: an SFTP upload onto a FIFO nobody reads
// blocks the transfer program in open(2), where closing its input does not reach it.
// Once its client is killed, the agent still ends it (after the log drain time), and
// no process of the session is left.
func TestTransferStuckOnFIFOEndsAfterHangup(t *testing.T) {
	t.Parallel()
	requireTool(t, "sftp", "openssh-client")
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	fifo := filepath.Join(abs, "never-read")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(fifo, a.Account.UID, a.Account.GID); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	batch := filepath.Join(local, "batch")
	writeFile(t, filepath.Join(local, "data"), "payload\n", 0o600)
	writeFile(t, batch, "put "+filepath.Join(local, "data")+" "+rel+"/never-read\n", 0o600)
	cmd := exec.Command("sftp", append([]string{"-b", batch}, append(hermeticCopyOptions(a.IDFile, a.Port), a.destination())...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	agentPID := a.cmd.Process.Pid
	if !testwait.Until(20*time.Second, func() bool { return len(transferChildren(agentPID)) > 0 }) {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		t.Fatalf("no sftp-server under the agent after 20s: %v", descendants(agentPID))
	}
	time.Sleep(time.Second)
	if len(transferChildren(agentPID)) == 0 {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		t.Fatalf("the sftp-server ended by itself: the test needs it stuck on the FIFO\n%s", a.Logs())
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed
	if !testwait.Until(15*time.Second, func() bool { return len(descendants(agentPID)) == 0 }) {
		t.Errorf("15s after the client was killed the agent still has processes: %v", descendants(agentPID))
	}
	if got := a.Run(t, "echo alive"); got != "alive\n" {
		t.Errorf("login after the stuck transfer: %q, want \"alive\\n\"", got)
	}
}
