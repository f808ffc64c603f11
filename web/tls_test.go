package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key, and
// returns their paths and the pool that trusts it.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}

// TestTLSListenServeShutdown: with --web-tls-cert and --web-tls-key the server speaks
// HTTPS, the cookie is Secure, and Shutdown ends Serve with nil.
func TestTLSListenServeShutdown(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	s, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{accepting: true}, Token: testToken, TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "https://" + s.Addr()
	if got, want := s.URL("host"), base+"/"; got != want {
		t.Errorf("URL: got %q, want %q", got, want)
	}
	resp, err := client.Get(base + "/?token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure {
		t.Errorf("GET /?token= over TLS: status %d, cookies %v; want 303 and one Secure cookie", resp.StatusCode, cs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v, want nil", err)
	}
}

func TestTLSFlagsGoTogether(t *testing.T) {
	certFile, _, _ := writeTestCert(t)
	if _, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{}, Token: testToken, TLSCert: certFile}); err == nil {
		t.Error("--web-tls-cert without --web-tls-key: no error")
	}
}

// TestTLSSSHMessagesBetweenWaits: /ssh over TLS carries messages across the reader's
// waits for frames, which must read through tls.Conn (frame_wait.go waits on the
// socket itself only for a plain connection: under TLS it would take ciphertext).
func TestTLSSSHMessagesBetweenWaits(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	s := startRealServer(t, Config{Agent: &fakeAgent{accepting: true, echo: true}, TLSCert: certFile, TLSKey: keyFile}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "wss://"+s.Addr()+"/ssh", &websocket.DialOptions{HTTPHeader: bearer(testToken),
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	for _, msg := range []string{"first", "second", "third"} {
		if err := ws.Write(ctx, websocket.MessageBinary, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := ws.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("echo of %q over TLS: got %q, %v", msg, got, err)
		}
	}
}
