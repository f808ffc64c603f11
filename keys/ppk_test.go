package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestMarshalPPKPuttygenReadsIt checks that PuTTY's own puttygen loads the file (which
// verifies the MAC) and gets back the same public and private key.
func TestMarshalPPKPuttygenReadsIt(t *testing.T) {
	t.Parallel()
	puttygen := requireTool(t, "puttygen")
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.PrivateKey
	}{
		{name: "ed25519", key: edKey},
		{name: "ed25519 pointer", key: &edKey},
		{name: "rsa", key: rsaKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ppk, err := MarshalPPK(tt.key, "id_container@test host")
			if err != nil {
				t.Fatalf("MarshalPPK: %v", err)
			}
			ppkPath := filepath.Join(dir, "key.ppk")
			if err := os.WriteFile(ppkPath, ppk, 0o600); err != nil {
				t.Fatal(err)
			}
			signer, err := ssh.NewSignerFromKey(tt.key)
			if err != nil {
				t.Fatal(err)
			}

			out, err := exec.Command(puttygen, ppkPath, "-O", "public-openssh").CombinedOutput()
			if err != nil {
				t.Fatalf("puttygen -O public-openssh: %v\n%s", err, out)
			}
			if got, want := keyTypeAndBlob(string(out)), keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); got != want {
				t.Errorf("puttygen public key: got %q, want %q", got, want)
			}
			if !strings.Contains(string(out), "id_container@test host") {
				t.Errorf("puttygen public key: got %q, want the comment in it", out)
			}

			pemPath := filepath.Join(dir, "key.pem")
			if out, err := exec.Command(puttygen, ppkPath, "-O", "private-openssh", "-o", pemPath).CombinedOutput(); err != nil {
				t.Fatalf("puttygen -O private-openssh: %v\n%s", err, out)
			}
			pemData, err := os.ReadFile(pemPath)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ssh.ParseRawPrivateKey(pemData)
			if err != nil {
				t.Fatalf("parse puttygen's export: %v", err)
			}
			if !privateKeysEqual(back, tt.key) {
				t.Errorf("puttygen's export: got a different private key (%T) than was written (%T)", back, tt.key)
			}
		})
	}
}

// TestMarshalPPKMatchesPuttygen has puttygen generate a version 2 file, exports its key
// in OpenSSH format, and checks that MarshalPPK writes the very same bytes back: blob
// encodings, line wrapping and MAC all as PuTTY does them.
func TestMarshalPPKMatchesPuttygen(t *testing.T) {
	t.Parallel()
	puttygen := requireTool(t, "puttygen")
	tests := []struct {
		name string
		args []string
	}{
		{name: "ed25519", args: []string{"-t", "ed25519"}},
		{name: "rsa", args: []string{"-t", "rsa", "-b", "2048"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ppkPath, pemPath := filepath.Join(dir, "k.ppk"), filepath.Join(dir, "k.pem")
			comment := "made by puttygen"
			gen := append(slicesClone(tt.args), "-C", comment, "--ppk-param", "version=2",
				"--new-passphrase", os.DevNull, "-o", ppkPath)
			if out, err := exec.Command(puttygen, gen...).CombinedOutput(); err != nil {
				t.Fatalf("puttygen %v: %v\n%s", gen, err, out)
			}
			if out, err := exec.Command(puttygen, ppkPath, "-O", "private-openssh", "-o", pemPath).CombinedOutput(); err != nil {
				t.Fatalf("puttygen -O private-openssh: %v\n%s", err, out)
			}
			want, err := os.ReadFile(ppkPath)
			if err != nil {
				t.Fatal(err)
			}
			pemData, err := os.ReadFile(pemPath)
			if err != nil {
				t.Fatal(err)
			}
			key, err := ssh.ParseRawPrivateKey(pemData)
			if err != nil {
				t.Fatal(err)
			}
			got, err := MarshalPPK(key, comment)
			if err != nil {
				t.Fatalf("MarshalPPK: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("MarshalPPK differs from puttygen's file:\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestMarshalPPKRejects(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var nilEd *ed25519.PrivateKey
	tests := []struct {
		name    string
		key     crypto.PrivateKey
		comment string
		wantMsg string
	}{
		{name: "ecdsa", key: ecKey, wantMsg: "unsupported key type"},
		{name: "nil ed25519 pointer", key: nilEd, wantMsg: "nil ed25519 key"},
		{name: "short ed25519", key: edKey[:10], wantMsg: "is 10 bytes"},
		{name: "multi-line comment", key: edKey, comment: "a\nPrivate-MAC: 00", wantMsg: "single line"},
		{name: "nil", key: nil, wantMsg: "unsupported key type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := MarshalPPK(tt.key, tt.comment)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %v, want one saying %q", err, tt.wantMsg)
			}
		})
	}
}

// privateKeysEqual compares ed25519 keys (value or pointer) and RSA keys.
func privateKeysEqual(a, b crypto.PrivateKey) bool {
	deref := func(k crypto.PrivateKey) crypto.PrivateKey {
		if p, ok := k.(*ed25519.PrivateKey); ok {
			return *p
		}
		return k
	}
	a, b = deref(a), deref(b)
	switch a := a.(type) {
	case ed25519.PrivateKey:
		b, ok := b.(ed25519.PrivateKey)
		return ok && a.Equal(b)
	case *rsa.PrivateKey:
		b, ok := b.(*rsa.PrivateKey)
		// PuTTY may hand the primes back in the other order.
		return ok && a.PublicKey.Equal(&b.PublicKey) && a.D.Cmp(b.D) == 0 && len(a.Primes) == 2 && len(b.Primes) == 2 &&
			(a.Primes[0].Cmp(b.Primes[0]) == 0 && a.Primes[1].Cmp(b.Primes[1]) == 0 ||
				a.Primes[0].Cmp(b.Primes[1]) == 0 && a.Primes[1].Cmp(b.Primes[0]) == 0)
	}
	return false
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
