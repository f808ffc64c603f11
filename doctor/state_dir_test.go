package doctor

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestCheckStateDir(t *testing.T) {
	edKey, _ := newKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(rsaKey, "test")
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(block)
	euid := os.Geteuid()

	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the --state-dir to check
		wantSub string
		wantSev Severity
		wantFix string
	}{
		{name: "missing", setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "a", "b") },
			wantSub: "creates it (0700)", wantSev: Info},
		{name: "a file", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "f"), nil, 0o600)
			return filepath.Join(dir, "f")
		}, wantSub: "is not a directory", wantSev: Fail, wantFix: "--state-dir"},
		{name: "group-writable", setup: func(t *testing.T, dir string) string {
			if err := os.Chmod(dir, 0o2770); err != nil {
				t.Fatal(err)
			}
			return dir
		}, wantSub: "is writable by group or others (mode 0770)", wantSev: Fail, wantFix: "chmod go-w "},
		{name: "writable by others", setup: func(t *testing.T, dir string) string {
			if err := os.Chmod(dir, 0o1777); err != nil {
				t.Fatal(err)
			}
			return dir
		}, wantSub: "is writable by group or others (mode 0777)", wantSev: Fail, wantFix: "chmod go-w "},
		{name: "keys fine", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "ssh_host_ed25519_key"), edKey, 0o600)
			writeFile(t, filepath.Join(dir, "ssh_host_rsa_key"), rsaPEM, 0o600)
			return dir
		}, wantSub: "ssh_host_rsa_key (SHA256:", wantSev: OK},
		{name: "key missing", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "ssh_host_ed25519_key"), edKey, 0o600)
			return dir
		}, wantSub: "ssh_host_rsa_key does not exist", wantSev: Info},
		{name: "key readable by others", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "ssh_host_ed25519_key"), edKey, 0o644)
			return dir
		}, wantSub: "accessible by group or others (mode 0644)", wantSev: Fail, wantFix: "chmod 600 "},
		{name: "wrong key type", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "ssh_host_rsa_key"), edKey, 0o600)
			return dir
		}, wantSub: "holds a ssh-ed25519 key, want ssh-rsa", wantSev: Fail, wantFix: "mv "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			r := &Report{}
			checkStateDir(r, dir, euid)
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
		})
	}
}
