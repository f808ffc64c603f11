package agent

import (
	"bytes"
	"context"
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
		{name: "hostname of the client's address", hosts: []string{"w-far", "w-local"}, wantLogin: true},
		{name: "from VC_WORKER_HOSTS", env: []string{"VC_WORKER_HOSTS=w-far,w-local"}, wantLogin: true},
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
			config, err := os.ReadFile(filepath.Join(home, ".ssh", "config"))
			if err != nil || !strings.Contains(string(config), "Port "+strconv.Itoa(srv.Port())) {
				t.Errorf("~/.ssh/config (%v) does not name the listening port:\n%s", err, config)
			}
		})
	}
}
