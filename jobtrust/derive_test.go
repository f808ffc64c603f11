package jobtrust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestFromSecretKnownAnswer pins the derivation: workers running different jobsshd
// versions must keep deriving the same keys. The expected public keys were computed
// independently, with Python's cryptography package (HKDF-SHA256, Ed25519).
func TestFromSecretKnownAnswer(t *testing.T) {
	t.Parallel()
	id, err := FromSecret(Secret("0123456789abcdef-job-secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		key  ssh.PublicKey
		want string
	}{
		{"user key", id.UserKey.PublicKey(), "3447bb1d0c58423f320ede6e4d8a5246da88971c6bdc3369d077a7ec2c52bdf8"},
		{"host key", id.HostKey.PublicKey(), "170481bad6057922c891aaa059eef1cd67b3c62ddfc673768b537833d976c0cd"},
	} {
		got := hex.EncodeToString(tt.key.(ssh.CryptoPublicKey).CryptoPublicKey().(ed25519.PublicKey))
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestFromSecret(t *testing.T) {
	t.Parallel()
	a1, err := FromSecret(Secret("secret-of-job-a-0001"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := FromSecret(Secret("secret-of-job-a-0001"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromSecret(Secret("secret-of-job-b-0001"))
	if err != nil {
		t.Fatal(err)
	}
	same := func(x, y ssh.Signer) bool { return bytes.Equal(x.PublicKey().Marshal(), y.PublicKey().Marshal()) }
	if !same(a1.UserKey, a2.UserKey) || !same(a1.HostKey, a2.HostKey) {
		t.Error("the same secret derived different keys")
	}
	if same(a1.UserKey, b.UserKey) || same(a1.HostKey, b.HostKey) {
		t.Error("different secrets derived the same key")
	}
	if same(a1.UserKey, a1.HostKey) {
		t.Error("user key and host key are the same key")
	}
	parsed, err := ssh.ParsePrivateKey(a1.UserKeyFile)
	if err != nil {
		t.Fatalf("UserKeyFile does not parse: %v", err)
	}
	if !same(parsed, a1.UserKey) {
		t.Error("UserKeyFile holds another key than UserKey")
	}
	if a1.Source != "job secret" {
		t.Errorf("got source %q, want %q", a1.Source, "job secret")
	}
	if _, err := FromSecret(Secret("fifteen-bytes!!")); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("15-byte secret: got error %v, want one asking for at least 16 bytes", err)
	}
}

func TestFromKeyFile(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "job")
	if err != nil {
		t.Fatal(err)
	}
	openssh := pem.EncodeToMemory(block)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	encBlock, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "job", []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}

	a, err := FromKeyFile("/k/id", openssh)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromKeyFile("/k/id.pem", pkcs8)
	if err != nil {
		t.Fatal(err)
	}
	wantUser, _ := ssh.NewPublicKey(priv.Public())
	if !bytes.Equal(a.UserKey.PublicKey().Marshal(), wantUser.Marshal()) {
		t.Error("the job user key is not the key file's key")
	}
	if !bytes.Equal(a.HostKey.PublicKey().Marshal(), b.HostKey.PublicKey().Marshal()) {
		t.Error("the same key in OpenSSH and PKCS #8 form derived different host keys")
	}
	if bytes.Equal(a.HostKey.PublicKey().Marshal(), wantUser.Marshal()) {
		t.Error("the host key is the user key")
	}
	if !bytes.Equal(a.UserKeyFile, openssh) || a.Source != "/k/id" {
		t.Errorf("got UserKeyFile of %d bytes and source %q, want the file's bytes and its path", len(a.UserKeyFile), a.Source)
	}
	for name, data := range map[string][]byte{"passphrase": pem.EncodeToMemory(encBlock), "garbage": []byte("not a key")} {
		if _, err := FromKeyFile("/k/"+name, data); err == nil || !strings.Contains(err.Error(), "/k/"+name) {
			t.Errorf("%s: got error %v, want one naming the file", name, err)
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	s := Secret("do-not-print-this-secret")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%s %q %x %+v %#v", s, s, s, s, s), fmt.Sprintf("%v", struct{ S Secret }{s}), logged.String()} {
		if strings.Contains(out, "do-not-print") || strings.Contains(out, hex.EncodeToString(s)) {
			t.Errorf("secret printed: %s", out)
		}
	}
}
