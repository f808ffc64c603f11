package main

import (
	"slices"
	"testing"

	"jobsshd/sftpd"
)

func TestSCPCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		wantOK    bool
		wantPaths []string
	}{
		{"winscp upload", []string{"-r", "-d", "-t", "--", "/home/work/"}, true, []string{"/home/work/"}},
		{"quotes and spaces kept literally", []string{"-t", "/tmp/it's a *file*"}, true, []string{"/tmp/it's a *file*"}},
		{"dollar is not expanded", []string{"-f", "$HOME/x"}, true, []string{"$HOME/x"}},
		{"client use is refused", []string{"file", "host:"}, false, nil},
	}
	for _, tt := range tests {
		got, ok := sftpd.ParseSCPCommand(scpCommandLine(tt.args))
		if ok != tt.wantOK || !slices.Equal(got.Paths, tt.wantPaths) || got.Patterns != nil {
			t.Errorf("%s: got %v, %+v; want %v, paths %q and no patterns", tt.name, ok, got, tt.wantOK, tt.wantPaths)
		}
	}
}
