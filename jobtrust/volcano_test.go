package jobtrust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
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
	_, otherPub := newKey()
	tests := []struct {
		name  string
		files map[string][]byte
		want  bool
	}{
		{"volcano layout", map[string][]byte{"id_rsa": jobKey, "authorized_keys": append(append([]byte("# c\n"), otherPub...), jobPub...)}, true},
		{"no authorized_keys", map[string][]byte{"id_rsa": jobKey}, false},
		{"key not authorized", map[string][]byte{"id_rsa": jobKey, "authorized_keys": otherPub}, false},
		{"no id_rsa", map[string][]byte{"authorized_keys": jobPub}, false},
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
