package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// platformKeysFile writes lines to an authorized_keys file the way a platform mounts
// one: root-owned, 0644, in a root-owned 0755 directory (a temp dir under /tmp would be
// refused: the strict-modes walk goes on to "/" for a file outside the home, and /tmp
// is world-writable). It returns the file's path.
func platformKeysFile(t *testing.T, lines ...string) string {
	t.Helper()
	const base = "/var/lib/jobsshd-test-keys"
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// keyOptionCase is a key with an authorized_keys line's options, and what ssh gets.
type keyOptionCase struct {
	name    string
	options string   // the options before the key on its line
	opts    []string // extra ssh options
	command string
	wantOK  bool   // exit 0
	want    string // a substring of stdout (wantOK) or of stderr or the agent's log
}

// runKeyOptionCases puts every case's key, with its options, into one platform keys
// file, starts one agent with it and the extra flags, and runs each case.
func runKeyOptionCases(t *testing.T, flags []string, cases []keyOptionCase) {
	t.Helper()
	keysByCase := map[string]string{}
	var lines []string
	for _, c := range cases {
		key := newClientKey(t, strings.ReplaceAll(c.name, " ", "-"))
		keysByCase[c.name] = key
		lines = append(lines, strings.TrimSpace(c.options+" "+pub(t, key)))
	}
	path := platformKeysFile(t, lines...)
	a := startAgent(t, agentOptions{Args: append([]string{"--authorized-keys", path}, flags...)})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := a.SSH(t, sshCall{Key: keysByCase[c.name], Opts: c.opts, Command: c.command})
			if c.wantOK {
				if res.ExitCode != 0 || !strings.Contains(res.Stdout, c.want) {
					t.Errorf("options %q: got %s, want exit 0 with %q on stdout\nagent log:\n%s", c.options, res, c.want, a.Logs())
				}
				return
			}
			// The agent's log reaches the test through a pipe: give it a moment.
			logged := func() bool { return strings.Contains(a.Logs(), c.want) }
			if res.ExitCode == 0 || !(strings.Contains(res.Stderr, c.want) || testwait.Until(5*time.Second, logged)) {
				t.Errorf("options %q: got %s, want a failure mentioning %q\nagent log:\n%s", c.options, res, c.want, a.Logs())
			}
		})
	}
}

func TestKeyOptionsFromAndExpiry(t *testing.T) {
	t.Parallel()
	future := time.Now().Add(48 * time.Hour).UTC().Format("20060102")
	runKeyOptionCases(t, nil, []keyOptionCase{
		{name: "from matching address", options: `from="127.0.0.1"`, command: "echo in", wantOK: true, want: "in"},
		{name: "from matching cidr", options: `from="10.0.0.0/8,127.0.0.0/8"`, command: "echo in", wantOK: true, want: "in"},
		{name: "from matching wildcard", options: `from="127.0.0.*"`, command: "echo in", wantOK: true, want: "in"},
		{name: "from other network", options: `from="192.0.2.0/24"`, command: "echo in", want: "does not match from="},
		{name: "from negated", options: `from="!127.0.0.1,*"`, command: "echo in", want: "does not match from="},
		{name: "expired", options: `expiry-time="20200101"`, command: "echo in", want: "expired"},
		{name: "not yet expired", options: `expiry-time="` + future + `Z"`, command: "echo in", wantOK: true, want: "in"},
	})
}

func TestKeyOptionsForcedCommandAndEnvironment(t *testing.T) {
	t.Parallel()
	runKeyOptionCases(t, []string{"--permit-user-environment"}, []keyOptionCase{
		{name: "forced command sees the original", options: `command="echo forced:$SSH_ORIGINAL_COMMAND"`,
			command: "echo asked", wantOK: true, want: "forced:echo asked"},
		{name: "forced command for a shell request", options: `command="echo forced:${SSH_ORIGINAL_COMMAND-unset}"`,
			opts: []string{"-T"}, wantOK: true, want: "forced:unset"},
		{name: "environment applied", options: `environment="JOB_COLOR=blue"`,
			command: "echo color:$JOB_COLOR", wantOK: true, want: "color:blue"},
	})
	// Without --permit-user-environment, environment= is ignored.
	runKeyOptionCases(t, nil, []keyOptionCase{
		{name: "environment ignored", options: `environment="JOB_COLOR=blue"`,
			command: "echo color:${JOB_COLOR-unset}", wantOK: true, want: "color:unset"},
	})
}

func TestKeyOptionsRestrictPTYAndForwarding(t *testing.T) {
	t.Parallel()
	echo := startEchoServer(t)
	other := startEchoServer(t)
	stdio := func(port int) []string { return []string{"-W", fmt.Sprintf("127.0.0.1:%d", port)} }
	listenPort, otherPort := freePort(t), freePort(t)
	remote := func(port int) []string {
		return []string{"-o", "ExitOnForwardFailure=yes", "-R", fmt.Sprintf("localhost:%d:127.0.0.1:%d", port, echo)}
	}
	runKeyOptionCases(t, nil, []keyOptionCase{
		{name: "plain key gets a pty", options: "", opts: []string{"-tt"}, command: "tty", wantOK: true, want: "/dev/pts/"},
		{name: "no-pty", options: "no-pty", opts: []string{"-tt"}, command: "tty", want: "PTY allocation request failed"},
		{name: "restrict refuses a pty", options: "restrict", opts: []string{"-tt"}, command: "tty", want: "PTY allocation request failed"},
		{name: "restrict,pty allows one", options: "restrict,pty", opts: []string{"-tt"}, command: "tty", wantOK: true, want: "/dev/pts/"},
		{name: "restrict refuses forwarding", options: "restrict", opts: stdio(echo), want: "authorized_keys options or certificate do not allow it"},
		{name: "no-port-forwarding", options: "no-port-forwarding", opts: stdio(echo), want: "authorized_keys options or certificate do not allow it"},
		{name: "permitopen allows its target", options: fmt.Sprintf(`permitopen="127.0.0.1:%d"`, echo),
			opts: stdio(echo), command: "", wantOK: true, want: ""},
		{name: "permitopen refuses another", options: fmt.Sprintf(`permitopen="127.0.0.1:%d"`, echo),
			opts: stdio(other), want: "not in the key's permitopen= list"},
		{name: "restrict,port-forwarding allows", options: "restrict,port-forwarding", opts: stdio(echo), wantOK: true, want: ""},
		{name: "permitlisten allows its port", options: fmt.Sprintf(`permitlisten="localhost:%d"`, listenPort),
			opts: remote(listenPort), command: "echo listening", wantOK: true, want: "listening"},
		{name: "permitlisten refuses another", options: fmt.Sprintf(`permitlisten="localhost:%d"`, listenPort),
			opts: remote(otherPort), command: "echo listening", want: "remote port forwarding failed"},
	})
}

// TestInlineAuthorizedKeys: keys the platform passes in JOBSSHD_AUTHORIZED_KEYS log in,
// with their options; a bad line among them is skipped with its line number.
func TestInlineAuthorizedKeys(t *testing.T) {
	t.Parallel()
	plain, forced := newClientKey(t, "inline-plain"), newClientKey(t, "inline-forced")
	inline := strings.Join([]string{pub(t, plain), "not a key", `command="echo inline-forced" ` + pub(t, forced)}, "\n")
	a := startAgent(t, agentOptions{Env: []string{"JOBSSHD_AUTHORIZED_KEYS=" + inline}})
	if res := a.SSH(t, sshCall{Key: plain, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("inline key: got %s, want exit 0 and \"in\\n\"", res)
	}
	if res := a.SSH(t, sshCall{Key: forced, Command: "echo asked"}); res.ExitCode != 0 || res.Stdout != "inline-forced\n" {
		t.Errorf("inline key with command=: got %s, want its forced command's output", res)
	}
	if !strings.Contains(a.Logs(), "JOBSSHD_AUTHORIZED_KEYS") || !strings.Contains(a.Logs(), "line=2") {
		t.Errorf("the bad inline line is not logged with its source and line number:\n%s", a.Logs())
	}
}
