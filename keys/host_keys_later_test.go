package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostKeysReadyLeavesANewRSAKeyForLater(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	root := openDir(t, dir)
	ready, later, err := HostKeysReady(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ready) != 1 || ready[0].PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("ready: got %d keys (%v), want the ed25519 key alone", len(ready), ready)
	}
	if len(later) != 1 || later[0].Name != "ssh_host_rsa_key" {
		t.Fatalf("later: got %+v, want ssh_host_rsa_key", later)
	}
	if _, err := os.Lstat(filepath.Join(dir, "ssh_host_rsa_key")); !os.IsNotExist(err) {
		t.Fatalf("ssh_host_rsa_key: got %v, want no file before CreateHostKey", err)
	}
	created, err := CreateHostKey(root, later[0])
	if err != nil {
		t.Fatal(err)
	}
	again, later, err := HostKeysReady(root)
	if err != nil || len(later) != 0 || len(again) != 2 {
		t.Fatalf("second start: got %d ready, later %+v, %v; want both keys ready", len(again), later, err)
	}
	if !bytes.Equal(again[0].PublicKey().Marshal(), ready[0].PublicKey().Marshal()) ||
		!bytes.Equal(again[1].PublicKey().Marshal(), created.PublicKey().Marshal()) {
		t.Error("second start: the keys are not the ones created first, in the order ed25519, RSA")
	}
	if pub, err := os.ReadFile(filepath.Join(dir, "ssh_host_rsa_key.pub")); err != nil || !strings.HasPrefix(string(pub), "ssh-rsa ") {
		t.Errorf("ssh_host_rsa_key.pub: %v %q, want the public half", err, pub)
	}
}

func TestHostKeysReadyRefusesABadRSAFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	root := openDir(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "ssh_host_rsa_key"), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file that is there is loaded now, and refused now: only a missing key waits.
	if _, later, err := HostKeysReady(root); err == nil || !strings.Contains(err.Error(), "ssh_host_rsa_key") {
		t.Fatalf("got later %+v, error %v; want an error naming ssh_host_rsa_key", later, err)
	}
}
