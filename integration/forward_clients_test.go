package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestForwardLocalPlink: PuTTY's plink -L (what PuTTY's Tunnels page does), 1 MiB there
// and back.
func TestForwardLocalPlink(t *testing.T) {
	t.Parallel()
	requireTool(t, "plink", "putty-tools")
	a := startAgent(t, agentOptions{})
	echo := startEchoServer(t)
	lport := freePort(t)
	args := []string{"-batch", "-ssh", "-N", "-P", strconv.Itoa(a.Port), "-i", a.IDFile + ".ppk",
		"-L", hostPort("127.0.0.1", lport) + ":" + hostPort("127.0.0.1", echo)}
	for _, k := range a.Status.HostKeys {
		args = append(args, "-hostkey", k.Fingerprint)
	}
	args = append(args, a.Account.Name+"@127.0.0.1")
	// HOME is a fresh dir so no saved PuTTY session or host key cache takes part.
	tn := startBackground(t, []string{"HOME=" + t.TempDir()}, "plink", args...)
	tn.waitListening(hostPort("127.0.0.1", lport))
	// Exactly 1 MiB is read back, without relying on how plink passes on a half-close.
	if err := echoThrough("tcp", hostPort("127.0.0.1", lport), 1<<20, false); err != nil {
		t.Fatal(err)
	}
}

// paramikoForwardResult is what testdata/paramiko_forward.py prints.
type paramikoForwardResult struct {
	Echo struct {
		Sent     int  `json:"sent"`
		Received int  `json:"received"`
		Match    bool `json:"match"`
	} `json:"echo"`
	Refused *struct {
		Code int    `json:"code"`
		Text string `json:"text"`
	} `json:"refused"`
}

// TestForwardParamikoDirectTCPIP: paramiko's Transport.open_channel("direct-tcpip"),
// an echo with shutdown_write, and the open failure for a port nothing listens on.
func TestForwardParamikoDirectTCPIP(t *testing.T) {
	t.Parallel()
	if err := paramikoCheck(); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, agentOptions{})
	echo := startEchoServer(t)
	script, err := filepath.Abs(filepath.Join("testdata", "paramiko_forward.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	const size = 1 << 20
	cmd := exec.CommandContext(ctx, debianPython, script, "127.0.0.1", strconv.Itoa(a.Port), a.Account.Name, a.IDFile,
		"127.0.0.1", strconv.Itoa(echo), strconv.Itoa(size))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("paramiko_forward.py: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var res paramikoForwardResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("paramiko_forward.py: output is not the expected JSON: %v\n%s", err, stdout.String())
	}
	if res.Echo.Received != size || !res.Echo.Match {
		t.Errorf("echo through direct-tcpip: got %+v, want the %d bytes back", res.Echo, size)
	}
	// RFC 4254 §5.1: SSH_OPEN_CONNECT_FAILED is 2 (paramiko shows its own text for it).
	if res.Refused == nil || res.Refused.Code != 2 {
		t.Errorf("direct-tcpip to a closed port: got %+v, want code 2 (connect failed)", res.Refused)
	}
}
