package jobtrust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testenv"
)

func TestVolcanoKey(t *testing.T) {
	t.Parallel()
	newKey := func() ([]byte, []byte) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := ssh.NewPublicKey(priv.Public())
		return pem.EncodeToMemory(block), ssh.MarshalAuthorizedKey(pub)
	}
	jobKey, jobPub := newKey()
	volcanoConfig := []byte("StrictHostKeyChecking no\nUserKnownHostsFile /dev/null\n")
	_, otherPub := newKey()
	tests := []struct {
		name     string
		files    map[string][]byte
		writable bool // ~/.ssh not on a read-only mount, as a user keeps it
		want     bool
	}{
		{"volcano layout", map[string][]byte{"id_rsa": jobKey, "authorized_keys": append(append([]byte("# c\n"), otherPub...), jobPub...), "config": volcanoConfig}, false, true},
		{"no authorized_keys", map[string][]byte{"id_rsa": jobKey, "config": volcanoConfig}, false, false},
		{"key not authorized", map[string][]byte{"id_rsa": jobKey, "authorized_keys": otherPub, "config": volcanoConfig}, false, false},
		{"no id_rsa", map[string][]byte{"authorized_keys": jobPub, "config": volcanoConfig}, false, false},
		{"personal key without the plugin's config", map[string][]byte{"id_rsa": jobKey, "authorized_keys": jobPub}, false, false},
		{"writable ~/.ssh with the same files", map[string][]byte{"id_rsa": jobKey, "authorized_keys": jobPub, "config": volcanoConfig}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.writable {
				readOnlyMount(t, dir)
			}
			path, data, err := VolcanoKey(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := path != ""; got != tt.want {
				t.Fatalf("got path %q, want found %v", path, tt.want)
			}
			if tt.want && (path != filepath.Join(dir, "id_rsa") || string(data) != string(jobKey)) {
				t.Errorf("got %q with %d bytes, want id_rsa and its content", path, len(data))
			}
		})
	}
}

// readOnlyMount bind-mounts dir read-only over itself, as Kubernetes mounts a Secret,
// until the test ends. It needs root (CI runs as root).
func readOnlyMount(t *testing.T, dir string) {
	t.Helper()
	testenv.RequireRoot(t, "to mount a read-only directory, as a Secret volume is")
	for _, args := range [][]string{{"--bind", dir, dir}, {"-o", "remount,bind,ro", dir}} {
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
}
