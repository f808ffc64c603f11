package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jobKeyTestUser is served only by TestJobKeyFileReadAsRootOnlyWhereRootAlone, which
// looks at the files the agent writes into its ~/.ssh: no other test may write them.
const jobKeyTestUser = "jtjobkeyfile"

// TestJobKeyFileReadAsRootOnlyWhereRootAlone pins issue 10, item 1. --job-key naming a
// symlink the account planted (here in a directory the account owns) to a root-only
// private key must not be read as root: the agent refuses to start, and the key's
// bytes never reach the account's ~/.ssh/id_jobsshd_job. A root-only key behind
// root-owned symlinks (a Kubernetes Secret mount's ..data layout) is still read, and a
// key file the account owns still works (read as the account).
func TestJobKeyFileReadAsRootOnlyWhereRootAlone(t *testing.T) {
	acct := testAccount(t, jobKeyTestUser)
	copied := filepath.Join(acct.Home, ".ssh", "id_jobsshd_job")
	_ = os.Remove(copied) // left by an earlier run; the test decides what it holds

	// A root-only private key: root's 0600 file in root's 0700 directory.
	secretDir := t.TempDir()
	if err := os.Chmod(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	rootKey := filepath.Join(secretDir, "root_only_key")
	runOrFatal(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root-only", "-f", rootKey)
	rootKeyBytes, err := os.ReadFile(rootKey)
	if err != nil {
		t.Fatal(err)
	}

	userDir := accountTempDir(t, acct)
	link := filepath.Join(userDir, "job.key")
	if err := os.Symlink(rootKey, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, acct.UID, acct.GID); err != nil {
		t.Fatal(err)
	}
	base := func(keyFile string) []string {
		return []string{"--user", acct.Name, "--bind", "127.0.0.1", "--port", "0",
			"--state-dir", filepath.Join(t.TempDir(), "state"), "--id-file", filepath.Join(accountTempDir(t, acct), "id_container"),
			"--job-key", keyFile, "--job-hosts", "127.0.0.2"}
	}
	t.Run("the account's symlink to a root-only key", func(t *testing.T) {
		_, stderr, code := runBinary(t, nil, base(link)...)
		if code != 2 || !strings.Contains(stderr, "read as "+acct.Name) {
			t.Errorf("got exit %d, want 2 with the key refused as read as %s\nstderr:\n%s", code, acct.Name, stderr)
		}
		if b, err := os.ReadFile(copied); err == nil && bytes.Contains(b, bytes.TrimSpace(rootKeyBytes)) {
			t.Fatalf("%s holds the root-only private key", copied)
		}
	})

	t.Run("root's Secret-like mount with ..data links", func(t *testing.T) {
		mount := secretMount(t, rootKeyBytes)
		a := startAgent(t, agentOptions{User: acct.Name, Args: []string{"--job-key", filepath.Join(mount, "id_rsa"), "--job-hosts", "127.0.0.2"}})
		if !strings.Contains(a.Logs(), "job trust on") {
			t.Errorf("job trust is not on with a root-only key behind root's symlinks:\n%s", a.Logs())
		}
	})

	t.Run("a key file the account owns", func(t *testing.T) {
		own := filepath.Join(userDir, "own.key")
		if err := os.WriteFile(own, rootKeyBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(own, acct.UID, acct.GID); err != nil {
			t.Fatal(err)
		}
		a := startAgent(t, agentOptions{User: acct.Name, Args: []string{"--job-key", own, "--job-hosts", "127.0.0.2"}})
		if !strings.Contains(a.Logs(), "job trust on") {
			t.Errorf("job trust is not on with the account's own key file:\n%s", a.Logs())
		}
	})
}

// secretMount lays out a directory the way the kubelet mounts a Secret: a sticky
// directory holding a timestamped directory with the file, a ..data symlink to it and
// id_rsa -> ..data/id_rsa, all root's. It returns the mount directory.
func secretMount(t *testing.T, key []byte) string {
	t.Helper()
	mount := filepath.Join(traversableTempDir(t), "secret")
	stamp := filepath.Join(mount, "..2026_12_06_01_00_00.123")
	if err := os.MkdirAll(stamp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(mount, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stamp, "id_rsa"), key, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(stamp), filepath.Join(mount, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/id_rsa", filepath.Join(mount, "id_rsa")); err != nil {
		t.Fatal(err)
	}
	return mount
}
