package integration

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEnvSendEnv: client-sent LANG and LC_* are accepted (they override the container's),
// other client variables are not.
func TestEnvSendEnv(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Env: []string{"LANG=C", "LC_TIME=POSIX"}})
	res := a.SSH(t, sshCall{
		Opts:    []string{"-o", "SendEnv=LANG", "-o", "SendEnv=LC_TIME", "-o", "SendEnv=JOBTEST_CLIENT_VAR"},
		Env:     []string{"LANG=C.UTF-8", "LC_TIME=C.UTF-8", "JOBTEST_CLIENT_VAR=leaked"},
		Command: `echo "LANG=$LANG LC_TIME=$LC_TIME JOBTEST_CLIENT_VAR=${JOBTEST_CLIENT_VAR-unset}"`,
	})
	want := "LANG=C.UTF-8 LC_TIME=C.UTF-8 JOBTEST_CLIENT_VAR=unset\n"
	if res.ExitCode != 0 || res.Stdout != want {
		t.Errorf("got %s, want exit 0 and stdout %q", res, want)
	}
}

// TestEnvContainerPropagation: sessions see the container's variables (the agent's
// environment) minus the agent's own JOBSSHD_* settings, with the account's identity
// variables replacing the agent's (root's) ones.
func TestEnvContainerPropagation(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Env: []string{
		"VC_WORKER_HOSTS=a,b",
		"JOBSSHD_SECRETLIKE=x",
		// The agent runs as root: none of root's identity may reach the session.
		"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
	}})
	env := map[string]string{}
	for _, kv := range strings.Split(a.Run(t, "env -0"), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	acct := a.Account
	for name, want := range map[string]string{
		"VC_WORKER_HOSTS": "a,b",
		"HOME":            acct.Home,
		"USER":            acct.Name,
		"LOGNAME":         acct.Name,
		"SHELL":           "/bin/bash",
	} {
		if got, ok := env[name]; !ok || got != want {
			t.Errorf("session %s = %q (set: %v), want %q", name, got, ok, want)
		}
	}
	for k := range env {
		if strings.HasPrefix(k, "JOBSSHD_") {
			t.Errorf("session sees the agent's setting %s=%s; JOBSSHD_* must not reach sessions", k, env[k])
		}
	}
	if env["PATH"] == "" {
		t.Errorf("session PATH is empty")
	}
	if v, ok := env["SSH_TTY"]; ok {
		t.Errorf("session without a pty has SSH_TTY=%q, want it unset", v)
	}
	port := strconv.Itoa(a.Port)
	conn := strings.Fields(env["SSH_CONNECTION"])
	if len(conn) != 4 || conn[0] != "127.0.0.1" || conn[2] != "127.0.0.1" || conn[3] != port || atoi(conn[1]) <= 0 {
		t.Errorf("SSH_CONNECTION = %q, want \"127.0.0.1 CLIENTPORT 127.0.0.1 %s\"", env["SSH_CONNECTION"], port)
	}
	client := strings.Fields(env["SSH_CLIENT"])
	if len(client) != 3 || client[0] != "127.0.0.1" || client[2] != port || atoi(client[1]) <= 0 {
		t.Errorf("SSH_CLIENT = %q, want \"127.0.0.1 CLIENTPORT %s\"", env["SSH_CLIENT"], port)
	}

	got := a.Run(t, "id -u; id -g; pwd")
	want := strconv.Itoa(acct.UID) + "\n" + strconv.Itoa(acct.GID) + "\n" + acct.Home + "\n"
	if got != want {
		t.Errorf("'id -u; id -g; pwd' = %q, want %q (the account's ids, cwd its home)", got, want)
	}
}

// TestEnvPty: a pty session gets the client's TERM and SSH_TTY naming its terminal.
func TestEnvPty(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Env: []string{"TERM=dumb"}})
	res := a.SSH(t, sshCall{
		Opts:    []string{"-tt"},
		Env:     []string{"TERM=xterm-256color"},
		Command: `echo "TERM=$TERM SSH_TTY=$SSH_TTY TTY=$(tty)"`,
	})
	m := regexp.MustCompile(`^TERM=(\S*) SSH_TTY=(\S*) TTY=(\S*)\r\n$`).FindStringSubmatch(res.Stdout)
	if res.ExitCode != 0 || m == nil {
		t.Fatalf("got %s, want exit 0 and one line \"TERM=... SSH_TTY=... TTY=...\\r\\n\"", res)
	}
	if m[1] != "xterm-256color" {
		t.Errorf("TERM = %q, want the client's xterm-256color", m[1])
	}
	if !strings.HasPrefix(m[3], "/dev/pts/") || m[2] != m[3] {
		t.Errorf("SSH_TTY = %q, tty = %q; want the same /dev/pts/N", m[2], m[3])
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
