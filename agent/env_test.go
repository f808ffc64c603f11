package agent

import (
	"slices"
	"strings"
	"testing"
)

func TestSessionEnv(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "work", Home: "/home/work", Shell: "/bin/bash"}
	ends := endpoints{clientHost: "10.0.0.5", clientPort: "50000", serverHost: "10.0.0.1", serverPort: "2222"}
	container := []string{"PATH=/opt/conda/bin:/usr/bin", "VC_WORKER_HOSTS=w0,w1", "LANG=C"}

	got := sessionEnv(container, acct, "xterm-256color", "/dev/pts/3", "/tmp/jobsshd-agent-1/agent.7", ends, []string{"LANG=en_US.UTF-8"})
	want := []string{
		"PATH=/opt/conda/bin:/usr/bin", "VC_WORKER_HOSTS=w0,w1", "LANG=en_US.UTF-8",
		"HOME=/home/work", "USER=work", "LOGNAME=work", "SHELL=/bin/bash",
		"SSH_CONNECTION=10.0.0.5 50000 10.0.0.1 2222", "SSH_CLIENT=10.0.0.5 50000 2222",
		"TERM=xterm-256color", "SSH_TTY=/dev/pts/3", "SSH_AUTH_SOCK=/tmp/jobsshd-agent-1/agent.7",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	got = sessionEnv(nil, acct, "", "", "", ends, nil)
	if !slices.Contains(got, "PATH="+defaultPath) {
		t.Errorf("got %q, want the default PATH when the container has none", got)
	}
	for _, kv := range got {
		if strings.HasPrefix(kv, "TERM=") || strings.HasPrefix(kv, "SSH_TTY=") || strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			t.Errorf("got %q without a pty or a forwarded agent", kv)
		}
	}
}

func TestAcceptClientEnv(t *testing.T) {
	t.Parallel()
	patterns := []string{"LANG", "LC_*"}
	tests := []struct {
		name, value string
		want        bool
	}{
		{"LANG", "C.UTF-8", true},
		{"LC_ALL", "C", true},
		{"LC_", "x", true},
		{"LANGUAGE", "en", false},
		{"LD_PRELOAD", "/tmp/x.so", false},
		{"PATH", "/tmp", false},
		{"LC_X=Y", "z", false},
		{"LANG", "a\x00b", false},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := acceptClientEnv(patterns, tt.name, tt.value); got != tt.want {
			t.Errorf("acceptClientEnv(%q, %q): got %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}
