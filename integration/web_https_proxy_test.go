package integration

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebProxyThroughHTTPSProxy: `jobsshd proxy` reaches a wss:// agent through the
// HTTPS_PROXY of its environment (a CONNECT proxy in the test), with the agent's
// certificate trusted through SSL_CERT_FILE. Go bypasses proxies for loopback
// addresses, so the agent listens on this machine's first non-loopback IPv4 address.
func TestWebProxyThroughHTTPSProxy(t *testing.T) {
	t.Parallel()
	ip := nonLoopbackIPv4(t)
	certFile, keyFile := writeCertFor(t, ip)
	w := startWebAgent(t, agentOptions{Args: []string{"--web", ip.String() + ":0", "--web-tls-cert", certFile, "--web-tls-key", keyFile}})
	var connects atomic.Int64
	proxyAddr := startConnectProxy(t, &connects)
	url := fmt.Sprintf("wss://%s/ssh", net.JoinHostPort(ip.String(), fmt.Sprint(w.Web.Port)))
	cmd := fmt.Sprintf("ProxyCommand=env -u NO_PROXY -u no_proxy HTTPS_PROXY=http://%s SSL_CERT_FILE=%s %s proxy --token-file %s %s",
		proxyAddr, certFile, binPath, w.Web.TokenFile, url)
	res := w.SSH(t, sshCall{Opts: []string{"-o", cmd}, Command: "echo through"})
	if res.ExitCode != 0 || res.Stdout != "through\n" {
		t.Fatalf("ssh through HTTPS_PROXY: %s", res)
	}
	if connects.Load() == 0 {
		t.Error("the connection did not go through HTTPS_PROXY (no CONNECT seen)")
	}
}

func nonLoopbackIPv4(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.To4()
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address, which the HTTPS_PROXY test needs (Go bypasses proxies for loopback)")
	return nil
}

// writeCertFor writes a self-signed certificate for ip and its key, readable by root.
func writeCertFor(t *testing.T, ip net.IP) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ip.String()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{ip},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// startConnectProxy serves HTTP CONNECT on loopback, counting the tunnels it opens.
func startConnectProxy(t *testing.T, connects *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go connectTunnel(c, connects)
		}
	}()
	return ln.Addr().String()
}

func connectTunnel(c net.Conn, connects *atomic.Int64) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", req.Host, 5*time.Second)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	connects.Add(1)
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}
