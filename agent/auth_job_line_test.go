package agent

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/jobtrust"
)

// TestJobKeyRestrictedByItsLine pins issue 10, item 19: the job key's authorized_keys
// line restricts it (command=), and a line naming the job key that is rejected, or a
// source that cannot be used, refuses the job key instead of dropping the restriction.
func TestJobKeyRestrictedByItsLine(t *testing.T) {
	t.Parallel()
	secret := jobtrust.Secret("agent-test-job-line-secret")
	job, err := jobtrust.FromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	jobKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(job.UserKey.PublicKey())))
	tests := []struct {
		name      string
		lines     string // authorized_keys; JOBKEY stands for the job key
		mode      os.FileMode
		wantLogin bool
		wantOut   string // what `echo asked` prints when the login works
	}{
		{name: "listed plainly", lines: "JOBKEY", wantLogin: true, wantOut: "asked\n"},
		{name: "restricted by its line", lines: `restrict,command="echo JOB-FORCED" JOBKEY`, wantLogin: true, wantOut: "JOB-FORCED\n"},
		{name: "not listed, another line invalid", lines: "not a key\n" + `from="10.231.0.2/16" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBN8kZ4AzNcNvW9fmfkj1b6a6bI1vR3+XbEJKmq2mLnU other`,
			wantLogin: true, wantOut: "asked\n"},
		{name: "its line invalid (from= with host bits)", lines: `from="10.231.0.2/16",restrict,command="echo JOB-FORCED" JOBKEY`},
		{name: "its line unparseable (unterminated quote)", lines: `restrict,command="echo JOB-FORCED JOBKEY`},
		{name: "a valid line, then an invalid one naming it", lines: "JOBKEY\n" + `bogus-option JOBKEY`},
		{name: "a line too long to read", lines: strings.Repeat("#", 17<<10) + "x\nJOBKEY"},
		{name: "authorized_keys fails StrictModes", lines: `restrict,command="echo JOB-FORCED" JOBKEY`, mode: 0o666},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: home, Shell: "/bin/sh"}
			writeHomeAuthorizedKeys(t, home, strings.ReplaceAll(tt.lines, "JOBKEY", jobKey), tt.mode)
			srv, _ := startTestServerFor(t, acct, func(c *Config) {
				c.JobSecret, c.JobHosts = secret, []string{"127.0.0.1"}
				c.Environ = []string{"PATH=/bin:/usr/bin"}
			})
			checkEchoAsked(t, srv, job.UserKey, tt.wantLogin, tt.wantOut)
		})
	}
}
