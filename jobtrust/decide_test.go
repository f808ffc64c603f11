package jobtrust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobsshd/internal/account"
)

// TestDecide pins what the settings amount to, and that deciding writes nothing in the
// account's home (the ssh client files are written only once the agent listens).
func TestDecide(t *testing.T) {
	t.Parallel()
	secret := Secret("s3cret-value-0123456789abcdef")
	tests := []struct {
		name     string
		settings Settings
		environ  []string
		wantOn   bool
		wantOff  string
		wantErr  string
	}{
		{name: "disabled", settings: Settings{Disabled: true, Hosts: []string{"w-0"}, Secret: secret}, wantOff: ""},
		{name: "secret and hosts", settings: Settings{Hosts: []string{"w-0"}, Secret: secret}, wantOn: true},
		{name: "hosts from the environment", settings: Settings{Secret: secret}, environ: []string{"VC_WORKER_HOSTS=w-0,w-1"}, wantOn: true},
		{name: "nothing", wantOff: "no job hosts are known"},
		{name: "secret without hosts", settings: Settings{Secret: secret}, wantOff: "no job hosts are known (set --job-hosts"},
		{name: "--job-hosts without secret", settings: Settings{Hosts: []string{"w-0"}}, wantErr: "--job-hosts is set but there is no job secret"},
		{name: "both key and secret", settings: Settings{KeyFile: "/k", Secret: secret}, wantErr: "keep one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := filepath.Join(t.TempDir(), "home")
			acct := &account.Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()),
				Groups: []uint32{uint32(os.Getgid())}, Home: home, Shell: "/bin/sh"}
			d, err := Decide(tt.settings, tt.environ, acct, false)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.On() != tt.wantOn || !strings.Contains(d.Off, tt.wantOff) || d.Disabled != tt.settings.Disabled {
				t.Errorf("got on %v, off %q, disabled %v; want on %v, off containing %q", d.On(), d.Off, d.Disabled, tt.wantOn, tt.wantOff)
			}
			if _, err := os.Lstat(home); !os.IsNotExist(err) {
				t.Errorf("home after Decide: got %v, want it still missing", err)
			}
		})
	}
}
