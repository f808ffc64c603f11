package doctor

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// caTestLines are the lines TestCheckTrustedUserCAs writes: a CA key, another CA key,
// a user certificate and a DSA key.
type caTestLines struct{ ca, otherCA, cert, dsa string }

// dsaCALine is a DSA public key (ssh-keygen -t dsa, OpenSSH 9.2), written out because
// x/crypto ≥ v0.59.0 can neither make nor parse one.
const dsaCALine = "ssh-dss AAAAB3NzaC1kc3MAAACBAMnHv5IgTggD/6KWqUbiW3d9pgVhliBboqCPETY2qmFOpSaN4F+fBKGwY6TxDXePWJK36ddQdW3TIPcEiJfGasmgJP/+XQeZCdeyx+1g4EyRK6ElNsFy2YLYKPCFFFrf7c796Y/sZ9T1VDApC80kPioY+1R31p6n6lFioZOgwqvbAAAAFQCMXMpCYzzNj+wlzi5j+DyXdOYMHQAAAIAMeFFMgmQfsbVyTt1fReT93vPkr38OtQYUwvMH6WKU/FwBONMWiyxmUSYPBIevTxfBDnD/mTJ5I5/LxNPFEbjeytlk/AB3d7vmUgrCSKimV3bFMx+MTEFj6P/ivtSnzCP9LanrPgIiEj49PnJy/IFI0an3Q6octp+oPz9LokIBDQAAAIEAn2hfVU3sAuXHfpoYYYStshAMagYzvH3qkcE+a/me8EfRAUlzRTYrSv8ognJR2SZTskYe0bH9XpqaabCSollEcsljfYZTBMuEBoITQMxr+jOh0MGk9BuDFnzM9wuw6f5CNJmsNXdzOV09fjhwbjYKmGA7K4/K5uznwZo+eTKVFPE= dave@old"

func newCATestLines(t *testing.T) caTestLines {
	t.Helper()
	_, caPub := newKey(t)
	caLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(caPub)))
	_, userPub := newKey(t)
	_, caPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caSigner, err := ssh.NewSignerFromKey(caPriv)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: userPub, CertType: ssh.UserCert, ValidPrincipals: []string{"tester"},
		ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	certLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))
	otherCALine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(caSigner.PublicKey())))
	return caTestLines{ca: caLine, otherCA: otherCALine, cert: certLine, dsa: dsaCALine}
}

// caFileTests are TestCheckTrustedUserCAs' cases: setup creates (or not) the CA file
// at path.
type caFileTest struct {
	name    string
	setup   func(t *testing.T, path string)
	wantCAs int
	wantSub string
	wantSev Severity
	wantFix string
}

func caFileTests(l caTestLines) []caFileTest {
	caLine, otherCALine, certLine, dsaLine := l.ca, l.otherCA, l.cert, l.dsa
	return []caFileTest{
		{name: "two keys", setup: func(t *testing.T, p string) { writeFile(t, p, []byte(caLine+"\n# second\n"+otherCALine+"\n"), 0o644) },
			wantCAs: 2, wantSub: "certificates signed by 2 CA keys can log in", wantSev: Info},
		{name: "missing", setup: func(t *testing.T, p string) {},
			wantSub: "no such file or directory: jobsshd will not start", wantSev: Fail, wantFix: "create "},
		{name: "a directory", setup: func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, wantSub: "is not a regular file: jobsshd will not start", wantSev: Fail, wantFix: "one CA public key per line"},
		{name: "a FIFO", setup: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, wantSub: "is not a regular file", wantSev: Fail, wantFix: "--trusted-user-ca"},
		{name: "options", setup: func(t *testing.T, p string) { writeFile(t, p, []byte(`from="10.0.0.0/8" `+caLine+"\n"), 0o644) },
			wantSub: "options are not allowed here", wantSev: Fail, wantFix: "without options"},
		{name: "a certificate", setup: func(t *testing.T, p string) { writeFile(t, p, []byte(certLine+"\n"), 0o644) },
			wantSub: "a certificate, not a CA public key", wantSev: Fail, wantFix: "CA's .pub file"},
		{name: "a DSA key", setup: func(t *testing.T, p string) { writeFile(t, p, []byte(dsaLine+"\n"), 0o644) },
			wantSub: "a DSA key", wantSev: Fail, wantFix: "drop --trusted-user-ca"},
		{name: "no key", setup: func(t *testing.T, p string) { writeFile(t, p, []byte("# empty\n"), 0o644) },
			wantSub: "holds no public key", wantSev: Fail, wantFix: "one CA public key per line"},
	}
}

func TestCheckTrustedUserCAs(t *testing.T) {
	tests := caFileTests(newCATestLines(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ca.pub")
			tt.setup(t, path)
			r := &Report{}
			done := make(chan int, 1)
			go func() { done <- checkTrustedUserCAs(r, []string{path}) }()
			select {
			case got := <-done:
				if got != tt.wantCAs {
					t.Errorf("CA keys: got %d, want %d", got, tt.wantCAs)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("checkTrustedUserCAs still running after 10s: it blocked on the file")
			}
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
			if tt.wantSev == Fail && !strings.Contains(r.Findings[0].What, path) {
				t.Errorf("finding %q does not name %s", r.Findings[0].What, path)
			}
		})
	}
}
