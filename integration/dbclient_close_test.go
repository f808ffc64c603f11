package integration

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestDbclientExitsWhenOutputWasHeldAtClose: Dropbear's client exits as soon as the
// command's output is written, even when the agent's CHANNEL_CLOSE reached it while
// that output was still held back by a slow reader of its stdout (agent/close_wake.go).
// Without the agent's probe after the close, dbclient 2022.83 waited for the next
// keepalive probe (60 s) and TestClientMatrix/dropbear-dbclient timed out under load.
//
// The output is one pipe buffer (64 KiB) and 4 KiB more, and nobody reads the pipe
// until the agent has ended the session and dbclient has read everything it was sent:
// so the close arrives while 4 KiB are still waiting to be written.
func TestDbclientExitsWhenOutputWasHeldAtClose(t *testing.T) {
	t.Parallel()
	requireTool(t, "dbclient", "dropbear-bin")
	requireTool(t, "ss", "iproute2")
	a := startAgent(t, agentOptions{})
	home := t.TempDir()
	key := dbclientSetup(t, a, home, agentKnownHosts(t, a))
	rel, abs := userDir(t, a.Account)
	const size = 64<<10 + 4<<10
	down := filepath.Join(abs, "held.bin")
	writeRandomFile(t, down, size, 21, 0o644)
	if err := os.Chown(down, a.Account.UID, a.Account.GID); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(down)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	command := "cat " + rel + "/held.bin"
	cmd := exec.CommandContext(ctx, "dbclient", "-i", key, "-p", strconv.Itoa(a.Port), a.destination(), command)
	cmd.Env = append(os.Environ(), "HOME="+home)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbclient: %v", err)
	}
	pw.Close() // dbclient holds the only write end
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// The agent closed the channel (it logs the end just before the close) ...
	if !testwait.Until(30*time.Second, func() bool {
		return strings.Contains(a.Logs(), `msg="session ended"`)
	}) {
		t.Fatalf("the agent did not end the session of %q within 30s (stderr %q)", command, stderr.String())
	}
	// ... and dbclient has read everything the agent sent, the close included.
	port := strconv.Itoa(a.Port)
	if !testwait.Until(10*time.Second, func() bool {
		out, err := exec.Command("ss", "-Htn", "state", "established", "( dport = :"+port+" )").Output()
		fields := strings.Fields(string(out))
		return err == nil && len(fields) > 0 && fields[0] == "0"
	}) {
		t.Fatalf("dbclient did not read what the agent sent within 10s")
	}

	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(pr); got <- b }()
	// A prompt exit, well before the agent's first keepalive probe (60 s) would wake it.
	const bound = 20 * time.Second
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("dbclient %s: %v (stderr %q), want exit 0", command, err, stderr.String())
		}
	case <-time.After(bound):
		cancel()
		<-exited
		t.Fatalf("dbclient %s did not exit within %v of its output being read (it waits for another packet after its last channel closed)", command, bound)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("dbclient %s: got %d bytes, want the file's %d", command, len(b), len(want))
	}
}

// dbclientSetup gives dbclient, run with HOME=home, the agent's key in Dropbear's
// format (returned) and its host keys in ~/.ssh/known_hosts, where Dropbear 2022.83
// looks the host up without the port.
func dbclientSetup(t *testing.T, a *agent, home, knownHosts string) string {
	t.Helper()
	requireTool(t, "dropbearconvert", "dropbear-bin")
	key := filepath.Join(t.TempDir(), "id_container.dropbear")
	runOrFatal(t, "dropbearconvert", "openssh", "dropbear", a.IDFile, key)
	sshDir := filepath.Join(home, ".ssh")
	if err := os.Mkdir(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	hosts := strings.ReplaceAll(readFileString(t, knownHosts), "[127.0.0.1]:"+strconv.Itoa(a.Port)+" ", "127.0.0.1 ")
	writeFile(t, filepath.Join(sshDir, "known_hosts"), hosts, 0o644)
	return key
}
