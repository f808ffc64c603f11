package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDoctorCommandExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       int
		wantStdout string
		wantStderr string
	}{
		{name: "bad flag", args: []string{"doctor", "--port", "x"}, want: exitUsage, wantStderr: "invalid value"},
		{name: "stray argument", args: []string{"doctor", "extra"}, want: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "missing user", args: []string{"doctor", "--user", "wrok-no-such-user", "--port", "0", "--state-dir", t.TempDir()},
			want: exitFailure, wantStdout: "FAIL  account \"wrok-no-such-user\""},
		{name: "user from the environment", args: []string{"doctor", "--port", "0", "--state-dir", t.TempDir()},
			env:  map[string]string{"JOBSSHD_USER": "wrok-env-user"},
			want: exitFailure, wantStdout: "FAIL  account \"wrok-env-user\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			got := run(tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("got exit %d, want %d (stdout %q, stderr %q)", got, tt.want, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("got stdout %q stderr %q, want them to contain %q and %q", stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
			}
		})
	}
}
