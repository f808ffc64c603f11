package agent

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobsshd/jobtrust"
)

// planConfig is a configuration for this process's own account whose home and state
// directory do not exist yet, so that anything Resolve created would show.
func planConfig(t *testing.T) (Config, string) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: home, Shell: "/bin/sh"}
	return Config{User: "tester", Bind: "127.0.0.1", StateDir: filepath.Join(base, "state"),
		LookupAccount: func(string) (*Account, error) { return acct, nil }, Environ: []string{"PATH=/bin"}}, base
}

// TestResolveChangesNothing: the plan names the state directory, host keys, status.json
// and id_container that New creates, but Resolve creates none of them, even with job
// trust on (whose ssh client files Listen writes).
func TestResolveChangesNothing(t *testing.T) {
	t.Parallel()
	cfg, base := planConfig(t)
	cfg.JobHosts, cfg.JobSecret = []string{"w-0", "w-1"}, jobtrust.Secret("s3cret-value-0123456789abcdef")
	p, err := Resolve(cfg, os.Geteuid())
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(base); err != nil || len(entries) != 0 {
		t.Errorf("after Resolve: %d entries in %s (%v), want none", len(entries), base, err)
	}
	wantFiles := []string{filepath.Join(cfg.StateDir, "ssh_host_ed25519_key"), filepath.Join(cfg.StateDir, "ssh_host_rsa_key")}
	if strings.Join(p.HostKeyFiles, " ") != strings.Join(wantFiles, " ") {
		t.Errorf("host key files: got %q, want %q", p.HostKeyFiles, wantFiles)
	}
	if want := filepath.Join(base, "home", "id_container"); p.IDFile != want {
		t.Errorf("id_container: got %q, want %q", p.IDFile, want)
	}
	if want := filepath.Join(base, "home", ".ssh", "authorized_keys"); len(p.AuthorizedKeysFiles) != 1 || p.AuthorizedKeysFiles[0] != want {
		t.Errorf("key files: got %q, want [%q]", p.AuthorizedKeysFiles, want)
	}
	if !p.JobTrust.On() {
		t.Errorf("job trust: got off (%s), want on", p.JobTrust.Off)
	}
}

// TestResolvePortPolicy: job trust makes the port strict, and the plan says why; it
// used to be a silent change of Config.StrictPort inside New.
func TestResolvePortPolicy(t *testing.T) {
	t.Parallel()
	secret := jobtrust.Secret("s3cret-value-0123456789abcdef")
	tests := []struct {
		name       string
		configure  func(*Config)
		wantStrict string
	}{
		{name: "default", configure: func(*Config) {}},
		{name: "--strict-port", configure: func(c *Config) { c.StrictPort = true }, wantStrict: "--strict-port is set"},
		{name: "job trust", configure: func(c *Config) { c.JobHosts, c.JobSecret = []string{"w-0"}, secret }, wantStrict: strictByJobTrust},
		{name: "job secret without hosts", configure: func(c *Config) { c.JobSecret = secret }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := planConfig(t)
			tt.configure(&cfg)
			p, err := Resolve(cfg, os.Geteuid())
			if err != nil {
				t.Fatal(err)
			}
			if p.Port.StrictBy != tt.wantStrict || p.Port.Strict != (tt.wantStrict != "") || p.Config.StrictPort != p.Port.Strict {
				t.Errorf("port policy: got %+v (Config.StrictPort %v), want strict by %q", p.Port, p.Config.StrictPort, tt.wantStrict)
			}
		})
	}
}

// TestResolveErrorIsNews: New refuses a configuration with the very error Resolve
// returns, a *ConfigError, before it creates anything.
func TestResolveErrorIsNews(t *testing.T) {
	t.Parallel()
	for name, configure := range map[string]func(*Config){
		"algorithms":  func(c *Config) { c.Algorithms = "bogus" },
		"key type":    func(c *Config) { c.KeyType = "dsa" },
		"job trust":   func(c *Config) { c.JobHosts = []string{"w-0"} },
		"trusted CAs": func(c *Config) { c.TrustedUserCAFiles = []string{"/nonexistent/ca.pub"} },
		// The old "off": refused rather than silently probing every 60 s.
		"negative client alive interval": func(c *Config) { c.ClientAliveInterval = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, base := planConfig(t)
			configure(&cfg)
			_, rerr := Resolve(cfg, os.Geteuid())
			_, nerr := New(cfg)
			var ce *ConfigError
			if !errors.As(rerr, &ce) || nerr == nil || rerr.Error() != nerr.Error() {
				t.Fatalf("Resolve: %v; New: %v; want the same *ConfigError", rerr, nerr)
			}
			if entries, _ := os.ReadDir(base); len(entries) != 0 {
				t.Errorf("New created %d entries in %s before refusing, want none", len(entries), base)
			}
		})
	}
}

// takenPort is a loopback port held by a listener until the test ends.
func takenPort(t *testing.T) int {
	t.Helper()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	return held.Addr().(*net.TCPAddr).Port
}

// TestPortPolicyTaken: a taken preferred port is ErrPortTaken for Probe (doctor) and
// for Listen's first step; strict, Listen fails with the reason, else it falls back.
func TestPortPolicyTaken(t *testing.T) {
	t.Parallel()
	port := takenPort(t)
	loose := PortPolicy{Bind: "127.0.0.1", Port: port}
	if err := loose.Probe(); !errors.Is(err, ErrPortTaken) {
		t.Errorf("Probe: got %v, want ErrPortTaken", err)
	}
	ln, err := loose.listen()
	if err != nil {
		t.Fatalf("listen, not strict: %v", err)
	}
	ln.Close()
	strict := PortPolicy{Bind: "127.0.0.1", Port: port, Strict: true, StrictBy: strictByJobTrust}
	_, err = strict.listen()
	if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "job trust makes the port strict") {
		t.Errorf("listen, strict under job trust: got %v, want ErrPortTaken naming job trust", err)
	}
}

// TestJobTrustPortStrictOnListen: the port policy of the plan is the one Listen
// applies. Under job trust a taken port makes Listen fail instead of falling back to a
// random port (every worker's ~/.ssh/config names this port), as New's silent
// Config.StrictPort = true did before the plan; without job trust it falls back.
func TestJobTrustPortStrictOnListen(t *testing.T) {
	t.Parallel()
	port := takenPort(t)
	for _, jobTrust := range []bool{true, false} {
		cfg, _ := planConfig(t)
		cfg.Port = port
		if jobTrust {
			cfg.JobHosts, cfg.JobSecret = []string{"w-0"}, jobtrust.Secret("s3cret-value-0123456789abcdef")
		}
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = srv.Listen()
		switch {
		case jobTrust && !errors.Is(err, ErrPortTaken):
			t.Errorf("Listen under job trust on taken port %d: got %v, want ErrPortTaken", port, err)
		case !jobTrust && err != nil:
			t.Errorf("Listen without job trust on taken port %d: %v, want a random free port", port, err)
		}
		if err == nil {
			_ = srv.Shutdown(context.Background()) // nothing was served
		}
	}
}
