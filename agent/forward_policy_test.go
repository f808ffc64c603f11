package agent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/jobtrust"
	"jobsshd/keys"
)

func TestPermitForward(t *testing.T) {
	t.Parallel()
	const user = 1000
	web := forwardTarget{host: "127.0.0.1", port: 8080}
	tests := []struct {
		name    string
		cfg     Config
		uid     uint32
		kind    forwardKind
		target  forwardTarget
		wantErr string // "" means permitted
	}{
		{name: "local tcp by default", uid: user, kind: forwardDirectTCP, target: web},
		{name: "remote tcp by default", uid: user, kind: forwardRemoteTCP, target: web},
		{name: "local unix by default", uid: user, kind: forwardDirectUnix, target: forwardTarget{path: "/run/app.sock"}},
		{name: "remote unix by default", uid: user, kind: forwardRemoteUnix, target: forwardTarget{path: "/tmp/r.sock"}},
		{name: "agent by default", uid: user, kind: forwardAuthAgent},
		{name: "local tcp disabled", cfg: Config{DisableTCPForwarding: true}, uid: user, kind: forwardDirectTCP, target: web, wantErr: "--allow-tcp-forwarding=false"},
		{name: "remote tcp disabled", cfg: Config{DisableTCPForwarding: true}, uid: user, kind: forwardRemoteTCP, target: web, wantErr: "--allow-tcp-forwarding=false"},
		{name: "local unix disabled", cfg: Config{DisableUnixForwarding: true}, uid: user, kind: forwardDirectUnix, target: forwardTarget{path: "/s"}, wantErr: "--allow-unix-forwarding=false"},
		{name: "remote unix disabled", cfg: Config{DisableUnixForwarding: true}, uid: user, kind: forwardRemoteUnix, target: forwardTarget{path: "/s"}, wantErr: "--allow-unix-forwarding=false"},
		{name: "agent disabled", cfg: Config{DisableAgentForwarding: true}, uid: user, kind: forwardAuthAgent, wantErr: "--allow-agent-forwarding=false"},
		{name: "unix off leaves tcp on", cfg: Config{DisableUnixForwarding: true, DisableAgentForwarding: true}, uid: user, kind: forwardDirectTCP, target: web},
		{name: "tcp off leaves unix on", cfg: Config{DisableTCPForwarding: true}, uid: user, kind: forwardRemoteUnix, target: forwardTarget{path: "/s"}},
		{name: "tcp off leaves agent on", cfg: Config{DisableTCPForwarding: true, DisableUnixForwarding: true}, uid: user, kind: forwardAuthAgent},
		{name: "privileged listen as user", uid: user, kind: forwardRemoteTCP, target: forwardTarget{host: "localhost", port: 80}, wantErr: "below 1024"},
		{name: "port 1023 as user", uid: user, kind: forwardRemoteTCP, target: forwardTarget{host: "localhost", port: 1023}, wantErr: "below 1024"},
		{name: "port 1024 as user", uid: user, kind: forwardRemoteTCP, target: forwardTarget{host: "localhost", port: 1024}},
		{name: "port 0 as user", uid: user, kind: forwardRemoteTCP, target: forwardTarget{host: "localhost", port: 0}},
		{name: "privileged listen as root", uid: 0, kind: forwardRemoteTCP, target: forwardTarget{host: "localhost", port: 80}},
		{name: "connecting to a low port is fine", uid: user, kind: forwardDirectTCP, target: forwardTarget{host: "127.0.0.1", port: 22}},
		{name: "unknown kind", uid: user, kind: "x11-req", wantErr: "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Server{cfg: tt.cfg, account: &Account{Name: "work", UID: tt.uid}}
			err := s.permitForward(&grant{}, tt.kind, tt.target)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want permitted", err)
				}
				return
			}
			if err == nil || !errors.Is(err, errProhibited) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want a refusal wrapping errProhibited and naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestBindAddresses(t *testing.T) {
	t.Parallel()
	loopback := []string{"127.0.0.1", "::1"}
	all := []string{"0.0.0.0", "::"}
	tests := []struct {
		name         string
		host         string
		gatewayPorts bool
		want         []string
	}{
		{name: "localhost", host: "localhost", want: loopback},
		{name: "empty without gateway ports", host: "", want: loopback},
		{name: "star without gateway ports", host: "*", want: loopback},
		{name: "ipv4 any without gateway ports", host: "0.0.0.0", want: loopback},
		{name: "ipv6 any without gateway ports", host: "::", want: loopback},
		{name: "explicit address without gateway ports", host: "192.0.2.2", want: loopback},
		{name: "ipv4 loopback", host: "127.0.0.1", want: []string{"127.0.0.1"}},
		{name: "ipv6 loopback", host: "::1", want: []string{"::1"}},
		{name: "empty with gateway ports", host: "", gatewayPorts: true, want: all},
		{name: "star with gateway ports", host: "*", gatewayPorts: true, want: all},
		{name: "localhost with gateway ports", host: "localhost", gatewayPorts: true, want: loopback},
		{name: "ipv4 any with gateway ports", host: "0.0.0.0", gatewayPorts: true, want: []string{"0.0.0.0"}},
		{name: "ipv6 any with gateway ports", host: "::", gatewayPorts: true, want: []string{"::"}},
		{name: "explicit address with gateway ports", host: "192.0.2.2", gatewayPorts: true, want: []string{"192.0.2.2"}},
		{name: "ipv4 loopback with gateway ports", host: "127.0.0.1", gatewayPorts: true, want: []string{"127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := bindAddresses(tt.host, tt.gatewayPorts); !slices.Equal(got, tt.want) {
				t.Errorf("bindAddresses(%q, %v): got %q, want %q", tt.host, tt.gatewayPorts, got, tt.want)
			}
		})
	}
}

// TestForwardingPolicyRefuses drives every kind of forwarding against a server whose
// flags turn it off; each request must fail, with "administratively prohibited" where
// the protocol carries a reason.
func TestForwardingPolicyRefuses(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServerFor(t, &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"},
		func(c *Config) {
			c.DisableTCPForwarding, c.DisableUnixForwarding, c.DisableAgentForwarding = true, true, true
		})
	client := clientWithAuthAgent(t, srv, signer)
	echo := startEchoServer(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "echo.sock")
	startUnixEchoServer(t, sock)

	prohibited := func(t *testing.T, err error) {
		t.Helper()
		if oce := openChannelError(t, err); oce.Reason != ssh.Prohibited || !strings.Contains(oce.Message, "disabled") {
			t.Errorf("got %v %q, want administratively prohibited, naming the setting", oce.Reason, oce.Message)
		}
	}
	t.Run("local tcp", func(t *testing.T) {
		_, err := client.Dial("tcp", echo)
		prohibited(t, err)
	})
	t.Run("remote tcp", func(t *testing.T) {
		if ln, err := client.Listen("tcp", "127.0.0.1:0"); err == nil {
			ln.Close()
			t.Error("remote forward succeeded, want refused")
		}
	})
	t.Run("local unix", func(t *testing.T) {
		_, err := client.Dial("unix", sock)
		prohibited(t, err)
	})
	t.Run("remote unix", func(t *testing.T) {
		if ln, err := client.ListenUnix(filepath.Join(dir, "r.sock")); err == nil {
			ln.Close()
			t.Error("remote socket forward succeeded, want refused")
		}
	})
	t.Run("agent", func(t *testing.T) {
		if got, err := authSockOf(t, client); err == nil || got != "" {
			t.Errorf("got SSH_AUTH_SOCK %q, request error %v; want no socket and a refused request", got, err)
		}
	})
}

// TestForcedCommandTunnelsUnderJobTrust: while job trust is on, a key with a forced
// command tunnels only to what its permitopen= names (issue 10, item 18: a tunnel
// leaves from this container's job-host address, and a path that keeps the source
// address reaches another worker's agent under a name the dial check cannot see).
func TestForcedCommandTunnelsUnderJobTrust(t *testing.T) {
	t.Parallel()
	web := forwardTarget{host: "127.0.0.1", port: 8080}
	listed := keys.KeyOptions{PermitOpen: []keys.HostPort{{Host: "127.0.0.1", Port: 8080}}}
	tests := []struct {
		name     string
		jobTrust bool
		g        grant
		target   forwardTarget
		wantErr  string
	}{
		{name: "forced command, no permitopen", jobTrust: true, g: grant{hasForcedCommand: true, forcedCommand: "echo tunnel"}, target: web, wantErr: "permitopen= option names"},
		{name: "empty forced command, no permitopen", jobTrust: true, g: grant{hasForcedCommand: true}, target: web, wantErr: "permitopen= option names"},
		{name: "forced command, listed target", jobTrust: true, g: grant{hasForcedCommand: true, forcedCommand: "echo tunnel", forwardTargets: listed}, target: web},
		{name: "forced command, target not listed", jobTrust: true, g: grant{hasForcedCommand: true, forwardTargets: listed}, target: forwardTarget{host: "10.0.0.2", port: 2222}, wantErr: "permitopen= list"},
		{name: "no forced command", jobTrust: true, g: grant{}, target: web},
		{name: "forced command without job trust", g: grant{hasForcedCommand: true}, target: web},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Server{account: &Account{Name: "work", UID: 1000}}
			if tt.jobTrust {
				s.jobTrust = &jobtrust.Trust{}
			}
			err := s.permitForward(&tt.g, forwardDirectTCP, tt.target)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want permitted", err)
				}
				return
			}
			if err == nil || !errors.Is(err, errProhibited) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want a refusal naming %q", err, tt.wantErr)
			}
		})
	}
}
