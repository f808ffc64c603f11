package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobsshd/agent"
	"jobsshd/jobtrust"
)

func TestCheckJobTrust(t *testing.T) {
	const secret = "s3cret-value-0123456789abcdef"
	keyPEM, _ := newKey(t)
	keyFile := filepath.Join(t.TempDir(), "job_key")
	writeFile(t, keyFile, keyPEM, 0o600)
	badKeyFile := filepath.Join(t.TempDir(), "bad_key")
	writeFile(t, badKeyFile, []byte("not a key\n"), 0o600)

	tests := []struct {
		name    string
		cfg     agent.Config
		wantOn  bool
		wantSub string
		wantSev Severity
		wantFix string
	}{
		{name: "disabled", cfg: agent.Config{DisableJobTrust: true, JobHosts: []string{"w-0"}, JobSecret: jobtrust.Secret("short")},
			wantSub: "job trust is off (--job-trust=false)", wantSev: Info},
		{name: "single container", cfg: agent.Config{},
			wantSub: "job trust off: no job hosts are known and there is no job secret", wantSev: Info},
		{name: "secret and hosts", cfg: agent.Config{JobHosts: []string{"w-0", "w-1"}, JobSecret: jobtrust.Secret(secret)},
			wantOn: true, wantSub: "job trust on: the job key logs in from 2 job hosts (w-0, w-1), identity from the job secret in JOBSSHD_JOB_SECRET", wantSev: OK},
		{name: "hosts from the environment", cfg: agent.Config{Environ: []string{"VC_WORKER_HOSTS=w-0,w-1,w-2"}, JobSecret: jobtrust.Secret(secret)},
			wantOn: true, wantSub: "from 3 job hosts (w-0, w-1, w-2)", wantSev: OK},
		{name: "key file and hosts", cfg: agent.Config{JobHosts: []string{"w-0"}, JobKeyFile: keyFile},
			wantOn: true, wantSub: "identity from " + keyFile, wantSev: OK},
		{name: "secret without hosts", cfg: agent.Config{JobSecret: jobtrust.Secret(secret)},
			wantSub: "job trust off: a job secret is set but no job hosts are known", wantSev: Warn, wantFix: "--job-hosts"},
		{name: "hosts from the environment without secret", cfg: agent.Config{Environ: []string{"VC_WORKER_HOSTS=w-0"}},
			wantSub: "job trust off: job hosts are known but there is no job secret", wantSev: Info},
		{name: "both key file and secret", cfg: agent.Config{JobHosts: []string{"w-0"}, JobKeyFile: keyFile, JobSecret: jobtrust.Secret(secret)},
			wantSub: "both a job key file (--job-key) and a job secret", wantSev: Fail, wantFix: "keep one"},
		{name: "--job-hosts without secret", cfg: agent.Config{JobHosts: []string{"w-0"}},
			wantSub: "--job-hosts is set but there is no job secret", wantSev: Fail, wantFix: "JOBSSHD_JOB_SECRET"},
		{name: "short secret", cfg: agent.Config{JobHosts: []string{"w-0"}, JobSecret: jobtrust.Secret("short")},
			wantSub: "job secret is 5 bytes, need at least 16", wantSev: Fail, wantFix: "16 bytes or more"},
		{name: "missing key file", cfg: agent.Config{JobHosts: []string{"w-0"}, JobKeyFile: keyFile + ".missing"},
			wantSub: "no such file or directory", wantSev: Fail, wantFix: "pass --job-key"},
		{name: "bad key file", cfg: agent.Config{JobHosts: []string{"w-0"}, JobKeyFile: badKeyFile},
			wantSub: "job trust: job key", wantSev: Fail, wantFix: "pass --job-key"},
		{name: "unusable environment hosts", cfg: agent.Config{Environ: []string{"VC_WORKER_HOSTS=w-0,*"}},
			wantSub: "some job hosts from the environment are not usable", wantSev: Warn, wantFix: "VC_*_HOSTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := selfAccount(t)
			if tt.cfg.Environ == nil {
				tt.cfg.Environ = []string{"PATH=/bin"} // not this process's, which may hold VC_*_HOSTS
			}
			r := &Report{}
			if got := checkJobTrust(r, tt.cfg, a, os.Geteuid(), "JOBSSHD_JOB_SECRET").On(); got != tt.wantOn {
				t.Errorf("on: got %v, want %v", got, tt.wantOn)
			}
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
			for _, f := range r.Findings {
				if strings.Contains(f.What, secret) || strings.Contains(f.Fix, secret) {
					t.Errorf("finding %q (fix %q) shows the job secret", f.What, f.Fix)
				}
			}
			// The check writes nothing: not the ssh client files job trust writes at start.
			if _, err := os.Lstat(filepath.Join(a.Home, ".ssh")); !os.IsNotExist(err) {
				t.Errorf("~/.ssh after the check: got %v, want it still missing", err)
			}
		})
	}
}
