package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// debianPython is the interpreter python3-paramiko installs into; a python3 earlier on
// PATH (pyenv) may lack paramiko.
const debianPython = "/usr/bin/python3"

// paramikoResult is what testdata/paramiko_client.py prints.
type paramikoResult struct {
	Stdout     []byte `json:"stdout_b64"` // base64 in JSON
	Stderr     []byte `json:"stderr_b64"`
	ExitStatus int    `json:"exit_status"` // -1 when none was sent
	ExitSignal *struct {
		Name       string `json:"name"`
		CoreDumped bool   `json:"core_dumped"`
	} `json:"exit_signal"`
	Events       []string `json:"events"` // channel messages in arrival order
	AllowedTypes []string `json:"allowed_types"`
}

var paramikoCheck = sync.OnceValue(func() error {
	out, err := exec.Command(debianPython, "-c", "import paramiko").CombinedOutput()
	if err != nil {
		return &paramikoMissing{string(out), err}
	}
	return nil
})

type paramikoMissing struct {
	out string
	err error
}

func (e *paramikoMissing) Error() string {
	return debianPython + " cannot import paramiko (apt-get install python3-paramiko): " + e.err.Error() + "\n" + e.out
}

// runParamiko runs one scenario of testdata/paramiko_client.py against the agent, as the
// served account with its id_container.
func runParamiko(t *testing.T, a *agent, scenario string, args ...string) paramikoResult {
	t.Helper()
	if err := paramikoCheck(); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "paramiko_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmdArgs := append([]string{script, "127.0.0.1", strconv.Itoa(a.Port), a.Account.Name, a.IDFile, scenario}, args...)
	cmd := exec.CommandContext(ctx, debianPython, cmdArgs...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("paramiko %s %q: %v\nstdout: %s\nstderr: %s", scenario, args, err, stdout.String(), stderr.String())
	}
	var res paramikoResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("paramiko %s: output is not the expected JSON: %v\n%s", scenario, err, stdout.String())
	}
	return res
}

func TestParamikoExec(t *testing.T) {
	t.Parallel()
	for _, keyType := range []string{"ed25519", "rsa"} {
		t.Run(keyType, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, agentOptions{Args: []string{"--key-type", keyType}})
			res := runParamiko(t, a, "exec", "echo out; echo err >&2; exit 5")
			if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitStatus != 5 {
				t.Errorf("got stdout %q, stderr %q, exit %d; want \"out\\n\", \"err\\n\", 5", res.Stdout, res.Stderr, res.ExitStatus)
			}
			// RFC 4254 §6.10: exit-status comes before the channel closes; jobsshd's
			// teardown order also sends EOF first, after the last output.
			if want := []string{"eof", "exit-status", "close"}; !slices.Equal(res.Events, want) {
				t.Errorf("channel messages %v, want %v", res.Events, want)
			}
		})
	}
}

// TestParamikoExitSignal: a command killed by a signal reports exit-signal with the
// signal's name (without the "SIG" prefix) and no exit-status.
func TestParamikoExitSignal(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := runParamiko(t, a, "exec", "echo started; kill -9 $$")
	if string(res.Stdout) != "started\n" {
		t.Errorf("stdout %q, want \"started\\n\"", res.Stdout)
	}
	if res.ExitSignal == nil || res.ExitSignal.Name != "KILL" {
		t.Errorf("exit-signal %+v, want KILL (events %v)", res.ExitSignal, res.Events)
	}
	if slices.Contains(res.Events, "exit-status") || !slices.Contains(res.Events, "close") {
		t.Errorf("channel messages %v, want exit-signal instead of exit-status, then close", res.Events)
	}
}

// TestParamikoSignal: a "signal" request reaches the program (RFC 4254 §6.9).
func TestParamikoSignal(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := runParamiko(t, a, "signal", "USR1")
	if got, want := string(res.Stdout), "ready\ngot-USR1\n"; got != want || res.ExitStatus != 0 {
		t.Errorf("after signal USR1: output %q, exit %d; want %q and exit 0", got, res.ExitStatus, want)
	}
}

func TestParamikoEnv(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Env: []string{"LANG=C"}})
	res := runParamiko(t, a, "env", `echo "$LANG $LC_TIME ${JOBSSHD_IT_NOT_ACCEPTED-unset}"`)
	if got, want := string(res.Stdout), "C.UTF-8 C.UTF-8 unset\n"; got != want || res.ExitStatus != 0 {
		t.Errorf("got %q (exit %d), want %q", got, res.ExitStatus, want)
	}
}

func TestParamikoPtySize(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := runParamiko(t, a, "pty-size")
	if got := string(res.Stdout); got != "37 101\r\n" || res.ExitStatus != 0 {
		t.Errorf("stty size under get_pty(width=101, height=37): %q (exit %d), want \"37 101\\r\\n\"", got, res.ExitStatus)
	}
}

// TestParamikoPtyResize: window-change reaches the program as SIGWINCH with the new size.
func TestParamikoPtyResize(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := runParamiko(t, a, "pty-resize")
	if !strings.Contains(string(res.Stdout), "resized=50 120\r\n") || res.ExitStatus != 0 {
		t.Errorf("after resize_pty(width=120, height=50): output %q (exit %d), want \"resized=50 120\"", res.Stdout, res.ExitStatus)
	}
}

// TestParamikoPtyBytes: pty output reaches the client as the terminal produced it. In
// raw mode "\n" stays "\n"; in cooked mode the kernel (not the server) makes it "\r\n",
// once; all 256 byte values pass unchanged.
func TestParamikoPtyBytes(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name, command string
		want          []byte
	}{
		{name: "raw", command: `stty raw -echo; printf 'a\nb\r\nc'`, want: []byte("a\nb\r\nc")},
		{name: "opost off", command: `stty -opost; printf 'a\nb\r\nc'`, want: []byte("a\nb\r\nc")},
		{name: "cooked", command: `printf 'a\nb'`, want: []byte("a\r\nb")},
		{name: "all byte values raw", want: all,
			command: `stty raw -echo; ` + debianPython + ` -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runParamiko(t, a, "exec", tt.command, "pty")
			if !bytes.Equal(res.Stdout, tt.want) || res.ExitStatus != 0 {
				t.Errorf("pty output of %q: %q (exit %d), want %q", tt.command, res.Stdout, res.ExitStatus, tt.want)
			}
		})
	}
}

// TestParamikoShell: invoke_shell, type a command, read its output, exit.
func TestParamikoShell(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := runParamiko(t, a, "shell")
	if !bytes.Contains(res.Stdout, []byte("hi-42")) || res.ExitStatus != 0 {
		t.Errorf("shell: output %q, exit %d; want \"hi-42\" and exit 0", res.Stdout, res.ExitStatus)
	}
}

// TestParamikoAuthNone: the server offers publickey and nothing else.
func TestParamikoAuthNone(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := runParamiko(t, a, "auth-none")
	if !slices.Equal(res.AllowedTypes, []string{"publickey"}) {
		t.Errorf("auth_none: allowed types %q, want [publickey]", res.AllowedTypes)
	}
}
