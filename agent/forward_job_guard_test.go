package agent

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"testing"

	"jobsshd/jobtrust"
)

// TestJobHostGuard: the dial check behind item 18 refuses the job's SSH port on every
// job host's address (another worker's too, and through a hostname or an IPv4-mapped
// address) and on this container's own addresses, and nothing else.
func TestJobHostGuard(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	resolver := staticResolver{"w-1": {netip.MustParseAddr("10.77.0.2")}}
	srv, _ := startTestServerFor(t, acct, func(c *Config) {
		c.JobSecret, c.JobHosts, c.JobResolver = jobtrust.Secret("agent-test-guard-secret"), []string{"w-1", "10.77.0.5"}, resolver
	})
	guard := srv.jobHostGuardFor(context.Background(), func(string, ...any) {})
	port := strconv.Itoa(srv.Port())
	tests := []struct {
		addr       string
		wantRefuse bool
	}{
		{addr: "10.77.0.2:" + port, wantRefuse: true},          // w-1, by name
		{addr: "10.77.0.5:" + port, wantRefuse: true},          // an IP entry
		{addr: "[::ffff:10.77.0.5]:" + port, wantRefuse: true}, // the same, mapped
		{addr: "127.0.0.1:" + port, wantRefuse: true},          // this container
		{addr: "0.0.0.0:" + port, wantRefuse: true},
		{addr: "[::1]:" + port, wantRefuse: true},
		{addr: "10.77.0.3:" + port, wantRefuse: false}, // not a job host
		{addr: "10.77.0.2:1", wantRefuse: false},       // a job host's other port
		{addr: "127.0.0.1:1", wantRefuse: false},
	}
	for _, tt := range tests {
		err := guard("tcp", tt.addr, nil)
		if got := err != nil; got != tt.wantRefuse || (err != nil && !errors.Is(err, errProhibited)) {
			t.Errorf("%s: got %v, want refused %v (as administratively prohibited)", tt.addr, err, tt.wantRefuse)
		}
	}
}
