package agent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/jobtrust"
)

// staticResolver resolves hostnames from a table.
type staticResolver map[string][]netip.Addr

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, os.ErrNotExist
}

func TestJobKeyOnlyFromJobHosts(t *testing.T) {
	t.Parallel()
	secret := jobtrust.Secret("agent-test-job-secret")
	job, err := jobtrust.FromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	resolver := staticResolver{"w-local": {netip.MustParseAddr("127.0.0.1")}, "w-far": {netip.MustParseAddr("10.77.0.2")}}
	tests := []struct {
		name      string
		hosts     []string
		env       []string
		wantLogin bool
	}{
		// A name resolving to loopback stands for no job host (relays and tunnels
		// arrive from loopback); an IP entry is taken as given.
		{name: "hostname resolving to loopback", hosts: []string{"w-far", "w-local"}, wantLogin: false},
		{name: "from VC_WORKER_HOSTS", env: []string{"VC_WORKER_HOSTS=w-far,127.0.0.1"}, wantLogin: true},
		{name: "IP entry", hosts: []string{"127.0.0.1"}, wantLogin: true},
		{name: "client outside the job", hosts: []string{"w-far", "10.77.0.3"}, wantLogin: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: home, Shell: "/bin/sh"}
			// The job key is also in authorized_keys, as Volcano's ssh plugin puts it:
			// that must not let it in from outside the job.
			if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), ssh.MarshalAuthorizedKey(job.UserKey.PublicKey()), 0o600); err != nil {
				t.Fatal(err)
			}
			srv, idContainer := startTestServerFor(t, acct, func(c *Config) {
				c.JobSecret, c.JobHosts, c.JobResolver = secret, tt.hosts, resolver
				c.Environ = append([]string{"PATH=/bin"}, tt.env...)
			})
			var hostKey ssh.PublicKey
			c, err := ssh.Dial("tcp", srv.ln.Addr().String(), &ssh.ClientConfig{
				User: "tester", Auth: []ssh.AuthMethod{ssh.PublicKeys(job.UserKey)}, Timeout: 10 * time.Second,
				HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
				HostKeyCallback:   func(_ string, _ net.Addr, k ssh.PublicKey) error { hostKey = k; return nil },
			})
			if got := err == nil; got != tt.wantLogin {
				t.Fatalf("job key login: got %v (%v), want %v", got, err, tt.wantLogin)
			}
			if err == nil {
				c.Close()
			}
			if !bytes.Equal(hostKey.Marshal(), job.HostKey.PublicKey().Marshal()) {
				t.Error("the ed25519 host key served is not the job host key")
			}
			if _, err := dial(t, srv, "tester", idContainer); err != nil {
				t.Errorf("id_container login while job trust is on: %v", err)
			}
			if st := srv.status().JobTrust; st == nil || st.UserKey != ssh.FingerprintSHA256(job.UserKey.PublicKey()) || len(st.Hosts) == 0 {
				t.Errorf("status.json job_trust: got %+v, want the job hosts and user key", st)
			}
			config, err := os.ReadFile(filepath.Join(home, ".ssh", "config"))
			if err != nil || !strings.Contains(string(config), "Port "+strconv.Itoa(srv.Port())) {
				t.Errorf("~/.ssh/config (%v) does not name the listening port:\n%s", err, config)
			}
		})
	}
}

func TestJobTrustConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		configure func(*Config)
		wantErr   string // "" means New succeeds with job trust off
	}{
		{name: "secret too short", configure: func(c *Config) { c.JobSecret, c.JobHosts = jobtrust.Secret("short"), []string{"w-0"} }, wantErr: "at least 16"},
		{name: "key file and secret", configure: func(c *Config) { c.JobSecret, c.JobKeyFile = jobtrust.Secret("agent-test-job-secret"), "/k" }, wantErr: "keep one"},
		{name: "missing key file", configure: func(c *Config) { c.JobKeyFile = "/nonexistent/id_rsa" }, wantErr: "/nonexistent/id_rsa"},
		{name: "hosts without secret", configure: func(c *Config) { c.JobHosts = []string{"w-0"} }, wantErr: "JOBSSHD_JOB_SECRET"},
		{name: "environment hosts without secret", configure: func(c *Config) { c.Environ = []string{"VC_WORKER_HOSTS=w-0,w-1"} }},
		{name: "secret without hosts", configure: func(c *Config) { c.JobSecret = jobtrust.Secret("agent-test-job-secret") }},
		{name: "disabled", configure: func(c *Config) {
			c.DisableJobTrust, c.JobSecret, c.JobHosts = true, jobtrust.Secret("short"), []string{"w-0"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
			cfg := Config{User: "tester", StateDir: t.TempDir(), LookupAccount: func(string) (*Account, error) { return acct, nil }, Environ: []string{}}
			tt.configure(&cfg)
			srv, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil || srv.jobTrust != nil {
					t.Fatalf("got error %v, job trust %v; want no error and job trust off", err, srv != nil && srv.jobTrust != nil)
				}
				return
			}
			var cerr *ConfigError
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want a ConfigError containing %q", err, tt.wantErr)
			}
		})
	}
}
