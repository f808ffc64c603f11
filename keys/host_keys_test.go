package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostKeysCreateThenReuse(t *testing.T) {
	t.Parallel()
	sshKeygen := requireTool(t, "ssh-keygen")
	dir := filepath.Join(t.TempDir(), "state", "jobsshd")

	first, err := HostKeys(openDir(t, dir))
	if err != nil {
		t.Fatalf("HostKeys (create): %v", err)
	}
	if got, want := len(first), 2; got != want {
		t.Fatalf("got %d host keys, want %d", got, want)
	}
	wantTypes := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSA}
	files := []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"}
	for i, s := range first {
		if got := s.PublicKey().Type(); got != wantTypes[i] {
			t.Errorf("host key %d: got type %s, want %s", i, got, wantTypes[i])
		}
	}
	rsaPub := first[1].PublicKey().(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey)
	if got, want := rsaPub.N.BitLen(), 3072; got != want {
		t.Errorf("rsa host key: got %d bits, want %d", got, want)
	}
	if got, want := fileMode(t, dir).Perm(), os.FileMode(0o700); got != want {
		t.Errorf("state dir: got mode %v, want %v", got, want)
	}
	for i, name := range files {
		path := filepath.Join(dir, name)
		if got, want := fileMode(t, path), os.FileMode(0o600); got != want {
			t.Errorf("%s: got mode %v, want %v", name, got, want)
		}
		if got, want := fileMode(t, path+".pub"), os.FileMode(0o644); got != want {
			t.Errorf("%s.pub: got mode %v, want %v", name, got, want)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
			t.Errorf("%s: got %q..., want an OPENSSH PRIVATE KEY block", name, data[:min(len(data), 40)])
		}
		pubLine, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
		if err != nil {
			t.Fatalf("%s.pub: %v", name, err)
		}
		if !bytes.Equal(pub.Marshal(), first[i].PublicKey().Marshal()) {
			t.Errorf("%s.pub: got %s, want %s", name, ssh.FingerprintSHA256(pub), ssh.FingerprintSHA256(first[i].PublicKey()))
		}
		// OpenSSH itself must read the key files.
		out, err := exec.Command(sshKeygen, "-y", "-f", path).Output()
		if err != nil {
			t.Fatalf("ssh-keygen -y -f %s: %v", name, err)
		}
		if got, want := keyTypeAndBlob(string(out)), keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(first[i].PublicKey()))); got != want {
			t.Errorf("ssh-keygen -y %s: got %q, want %q", name, got, want)
		}
	}

	second, err := HostKeys(openDir(t, dir))
	if err != nil {
		t.Fatalf("HostKeys (reuse): %v", err)
	}
	for i := range first {
		if !bytes.Equal(first[i].PublicKey().Marshal(), second[i].PublicKey().Marshal()) {
			t.Errorf("host key %d changed across calls: got %s, want %s", i,
				ssh.FingerprintSHA256(second[i].PublicKey()), ssh.FingerprintSHA256(first[i].PublicKey()))
		}
	}
}

func TestHostKeysRewritesMissingPublicFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := HostKeys(openDir(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(dir, "ssh_host_ed25519_key.pub")
	if err := os.Remove(pubPath); err != nil {
		t.Fatal(err)
	}
	if _, err := HostKeys(openDir(t, dir)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatalf("got no .pub after second call: %v", err)
	}
	if got, want := keyTypeAndBlob(string(data)), keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(first[0].PublicKey()))); got != want {
		t.Errorf("rewritten .pub: got %q, want %q", got, want)
	}
}

func TestHostKeysRefusesUnusableFile(t *testing.T) {
	t.Parallel()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPEM, err := marshalOpenSSHPrivateKey(edKey, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		content []byte
		wantMsg string
	}{
		{name: "garbage", file: "ssh_host_ed25519_key", content: []byte("not a key\n"), wantMsg: "move the file away"},
		{name: "empty", file: "ssh_host_ed25519_key", content: nil, wantMsg: "move the file away"},
		{name: "truncated", file: "ssh_host_ed25519_key", content: edPEM[:len(edPEM)/2], wantMsg: "move the file away"},
		{name: "wrong type", file: "ssh_host_rsa_key", content: edPEM, wantMsg: "holds a ssh-ed25519 key, want ssh-rsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := HostKeys(openDir(t, dir))
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %q, want it to name %q and say %q", err, path, tt.wantMsg)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !bytes.Equal(got, tt.content) {
				t.Errorf("file was modified: got %d bytes, want the original %d", len(got), len(tt.content))
			}
		})
	}
}

// keyTypeAndBlob returns the key type and base64 fields of an authorized_keys line,
// without the comment.
func keyTypeAndBlob(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	return f[0] + " " + f[1]
}

// openDir creates dir (0700) and opens it, as statedir.Open does for the agent.
func openDir(t *testing.T, dir string) *os.Root {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}
