package integration

// The client matrix: every SSH implementation users reach the agent with logs in with a
// key, checks the agent's host key, runs a command (or, for clients that only transfer
// files, lists a directory) and moves a file each way, byte for byte. One helper per
// client family lives in client_matrix_*_test.go.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"jobsshd/internal/testwait"
)

// matrixCommand is what clients that can run a command run: a shell expansion and the
// account's name prove it ran through the account's shell as the account, and the exit
// status proves the client reports it.
const (
	matrixCommand    = "echo matrix-$((6*7)) $(id -un); exit 3"
	matrixExitStatus = 3
)

func matrixCommandOutput(user string) string { return "matrix-42 " + user + "\n" }

// matrixRun is what one client gets: the agent, where to put and get files, and how to
// recognise the agent's host key.
type matrixRun struct {
	a *agent
	// Remote files, relative to the account's home (where every client starts):
	// upRemote does not exist yet and must receive localUp; downRemote holds random
	// bytes the client must fetch into localDown.
	rel, abs             string // the test's directory in the home: relative, absolute
	upRemote, downRemote string
	localUp, localDown   string
	// knownHosts is an OpenSSH known_hosts file with the agent's host keys (as its
	// "how to connect" text prints them); hostKeyFingerprints are the SHA256
	// fingerprints (status.json), ed25519 first. A test of host key checking puts
	// another key in both.
	knownHosts          string
	hostKeyFingerprints []string
	home                string // a fresh HOME for the client: no config, cache or known_hosts of the machine's
}

// matrixClient is one client of the matrix. run does the login, the command or listing
// and both transfers, and returns the command's output or the listing; it returns an
// error when the client fails (a refused host key must make it fail).
type matrixClient struct {
	name    string
	tool    string // program on PATH
	pkg     string // Debian package that installs it (.ci/run installs them all)
	command bool   // runs matrixCommand; otherwise lists rel
	run     func(t *testing.T, m *matrixRun) (string, error)
}

var matrixClients = []matrixClient{
	{name: "openssh-ssh", tool: "ssh", pkg: "openssh-client", command: true, run: matrixSSH},
	{name: "openssh-sftp", tool: "sftp", pkg: "openssh-client", run: matrixSFTP},
	{name: "openssh-scp", tool: "scp", pkg: "openssh-client", run: matrixSCP(nil)},
	{name: "openssh-scp-legacy", tool: "scp", pkg: "openssh-client", run: matrixSCP([]string{"-O"})},
	{name: "putty-plink", tool: "plink", pkg: "putty-tools", command: true, run: matrixPlink},
	{name: "putty-psftp", tool: "psftp", pkg: "putty-tools", run: matrixPSFTP},
	{name: "paramiko", tool: debianPython, pkg: "python3-paramiko", command: true, run: matrixPython("paramiko_matrix.py")},
	{name: "asyncssh", tool: debianPython, pkg: "python3-asyncssh", command: true, run: matrixPython("asyncssh_matrix.py")},
	{name: "curl-libssh2", tool: "curl", pkg: "curl", run: matrixCurl},
	{name: "dropbear-dbclient", tool: "dbclient", pkg: "dropbear-bin", command: true, run: matrixDbclient},
	{name: "rclone", tool: "rclone", pkg: "rclone", run: matrixRclone},
	{name: "lftp", tool: "lftp", pkg: "lftp", run: matrixLftp},
}

// TestClientMatrix: each client of matrixClients logs in with a key, accepting only the
// agent's host key, runs a command or lists a directory, uploads a file and downloads
// another, with both copies checked byte for byte. A client that cannot connect fails
// the test; a missing client too (requireTool).
func TestClientMatrix(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	knownHosts := agentKnownHosts(t, a)
	for _, c := range matrixClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireTool(t, c.tool, c.pkg)
			m := newMatrixRun(t, a, knownHosts, agentFingerprints(t, a))
			out, err := c.run(t, m)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if c.command {
				if want := matrixCommandOutput(a.Account.Name); out != want {
					t.Errorf("%s ran %q: output %q, want %q", c.name, matrixCommand, out, want)
				}
			} else if !strings.Contains(out, "down.bin") {
				t.Errorf("%s listed %s: %q, want down.bin in it", c.name, m.rel, out)
			}
			requireSameContent(t, m.localUp, filepath.Join(m.abs, "up.bin"))
			requireSameContent(t, filepath.Join(m.abs, "down.bin"), m.localDown)
			requireOwnedBy(t, m.abs, a.Account)
		})
	}
}

// TestClientMatrixRefusesWrongHostKey: the same clients, told to expect another host
// key, refuse to go on, so TestClientMatrix shows that each one checks the host key.
func TestClientMatrixRefusesWrongHostKey(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	// A key the agent does not have, under the agent's address, in both notations.
	other := newClientKey(t, "not-the-host-key")
	otherLine := strings.TrimSpace(keyTypeAndBlob(t, readFileString(t, other+".pub")))
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, knownHosts, fmt.Sprintf("[127.0.0.1]:%d %s\n", a.Port, otherLine), 0o644)
	wrong := []string{keyFingerprint(t, other+".pub")}
	for _, c := range matrixClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireTool(t, c.tool, c.pkg)
			m := newMatrixRun(t, a, knownHosts, wrong)
			out, err := c.run(t, m)
			if err == nil {
				t.Fatalf("%s with a known_hosts/fingerprint of another key: succeeded (output %q), want a refusal", c.name, out)
			}
			if !hostKeyRefusal.MatchString(err.Error()) {
				t.Errorf("%s failed for another reason than the host key: %v", c.name, err)
			}
			if _, err := os.Lstat(filepath.Join(m.abs, "up.bin")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s uploaded %s although it had refused the host key (%v)", c.name, m.upRemote, err)
			}
		})
	}
}

// hostKeyRefusal matches what each client says when it refuses a host key: OpenSSH (and
// lftp through it), PuTTY, paramiko, asyncssh, Dropbear, rclone and curl, in that order.
var hostKeyRefusal = regexp.MustCompile(`REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|` +
	`Host key not in manually configured list|BadHostKeyException|Host key is not trusted|` +
	`host key mismatch|knownhosts: key mismatch|mismatch sha256 fingerprint`)

func newMatrixRun(t *testing.T, a *agent, knownHosts string, fingerprints []string) *matrixRun {
	t.Helper()
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	m := &matrixRun{a: a, rel: rel, abs: abs,
		upRemote: rel + "/up.bin", downRemote: rel + "/down.bin",
		localUp: filepath.Join(local, "up.bin"), localDown: filepath.Join(local, "down.bin"),
		knownHosts: knownHosts, hostKeyFingerprints: fingerprints, home: t.TempDir()}
	// Sizes that are no multiple of any client's buffer, so a lost or doubled tail shows.
	writeRandomFile(t, m.localUp, 1<<20+37, 11, 0o644)
	down := filepath.Join(abs, "down.bin")
	writeRandomFile(t, down, 1<<20+91, 12, 0o644)
	if err := os.Chown(down, a.Account.UID, a.Account.GID); err != nil {
		t.Fatal(err)
	}
	return m
}

// agentKnownHosts writes the known_hosts lines the agent printed on start (its "how to
// connect" text) to a file: what a user is told to use instead of switching checks off.
func agentKnownHosts(t *testing.T, a *agent) string {
	t.Helper()
	prefix := "[127.0.0.1]:" + strconv.Itoa(a.Port) + " "
	var lines []string
	// The agent prints its connect text around the time it writes status.json, and the
	// harness copies its stdout in a goroutine: wait for the lines, not for luck.
	testwait.Until(statusTimeout, func() bool {
		lines = lines[:0]
		for _, l := range strings.Split(a.Logs(), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, prefix) {
				lines = append(lines, l)
			}
		}
		return len(lines) == len(a.Status.HostKeys)
	})
	if len(lines) != len(a.Status.HostKeys) {
		t.Fatalf("agent printed %d known_hosts lines starting %q, want one per host key (%d):\n%s", len(lines), prefix, len(a.Status.HostKeys), a.Logs())
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, path, strings.Join(lines, "\n")+"\n", 0o644)
	return path
}

// agentFingerprints are the host keys' fingerprints from status.json, ed25519 first (the
// type every client here negotiates first).
func agentFingerprints(t *testing.T, a *agent) []string {
	t.Helper()
	fps := []string{a.Status.fingerprint(t, "ssh-ed25519")}
	for _, k := range a.Status.HostKeys {
		if k.Type != "ssh-ed25519" {
			fps = append(fps, k.Fingerprint)
		}
	}
	return fps
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// clientError turns a client's non-zero exit into an error that shows what it said.
func clientError(what string, res sshResult) error {
	if res.ExitCode == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s, want exit 0", what, res)
}
