package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// unlistedUID is a uid /etc/passwd does not list, as OpenShift gives containers
// (`podman run --user 1000680000:0`).
const unlistedUID = 1000680000

// startUnlistedAgent starts the agent as unlistedUID with group 0 and no supplementary
// groups, through setpriv, with HOME a directory that uid owns, serving it as user
// (no --user when user is ""), and returns it with the account it serves.
func startUnlistedAgent(t *testing.T, user string) (*agent, account) {
	t.Helper()
	requireTool(t, "setpriv", "util-linux")
	if b, err := os.ReadFile("/etc/passwd"); err != nil || strings.Contains(string(b), ":"+strconv.Itoa(unlistedUID)+":") {
		t.Fatalf("/etc/passwd lists uid %d, which this test needs unlisted", unlistedUID)
	}
	home := traversableTempDir(t)
	if err := os.Chown(home, unlistedUID, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	served := account{Name: user, UID: unlistedUID, GID: 0, Home: home}
	if user == "" {
		served.Name = strconv.Itoa(unlistedUID)
	}
	args := []string{"--bind", "127.0.0.1", "--port", "0"}
	if user != "" {
		args = append(args, "--user", user)
	}
	a := startAgent(t, agentOptions{
		NoFlags:  true,
		Args:     args,
		StateDir: filepath.Join(home, ".local", "state", "jobsshd"), // serve's default without root
		IDFile:   filepath.Join(home, "id_container"),               // the default: in the home
		Env:      []string{"HOME=" + home, "SHELL=", "XDG_STATE_HOME=", "USER=root", "LOGNAME=root"},
		Wrapper:  []string{"setpriv", "--reuid", strconv.Itoa(unlistedUID), "--regid", "0", "--clear-groups"},
	})
	a.Account = served
	return a, served
}

// TestUnlistedUID: an agent whose uid /etc/passwd does not list serves itself, under
// the name --user gives or the uid's number, with the home from $HOME and /bin/sh;
// ssh, sftp and scp get in, and doctor agrees (issue 13).
func TestUnlistedUID(t *testing.T) {
	for _, user := range []string{"jovyan", ""} {
		t.Run("user="+user, func(t *testing.T) {
			t.Parallel()
			a, served := startUnlistedAgent(t, user)
			if n := strings.Count(a.Logs(), "account not in /etc/passwd: uid "+strconv.Itoa(unlistedUID)); n != 1 {
				t.Errorf("the start-up log says %d times why the account is not from /etc/passwd, want once:\n%s", n, a.Logs())
			}
			res := a.SSH(t, sshCall{Command: `echo "$USER|$LOGNAME|$HOME|$SHELL|$(id -u):$(id -g)|" ~`})
			want := served.Name + "|" + served.Name + "|" + served.Home + "|/bin/sh|" + strconv.Itoa(unlistedUID) + ":0| " + served.Home + "\n"
			if res.ExitCode != 0 || res.Stdout != want {
				t.Errorf("ssh: %v; want stdout %q", res, want)
			}
			checkUnlistedTransfers(t, a, served)
			checkUnlistedDoctor(t, a)
		})
	}
}

// checkUnlistedTransfers: sftp and scp (both protocols) write as the uid, and sftp's
// ls -l names the owner by number, as there is no name for it.
func checkUnlistedTransfers(t *testing.T, a *agent, served account) {
	t.Helper()
	local := filepath.Join(t.TempDir(), "up.txt")
	writeFile(t, local, "payload\n", 0o644)
	res := a.sftpBatch(t, "put "+local+" viasftp.txt\nls -l viasftp.txt\n")
	if res.ExitCode != 0 {
		t.Fatalf("sftp: %v", res)
	}
	owner := regexp.MustCompile(`(?m)^\S+\s+\S+\s+(\S+)\s+(\S+)\s+\d+.*viasftp\.txt$`).FindStringSubmatch(res.Stdout)
	if owner == nil || owner[1] != strconv.Itoa(unlistedUID) || owner[2] != "0" {
		t.Errorf("sftp ls -l: owner and group %v, want %d and 0:\n%s", owner, unlistedUID, res.Stdout)
	}
	if res := a.scp(t, "-O", local, a.remote("viascp-O.txt")); res.ExitCode != 0 {
		t.Errorf("scp -O: %v", res)
	}
	if res := a.scp(t, local, a.remote("viascp.txt")); res.ExitCode != 0 {
		t.Errorf("scp: %v", res)
	}
	for _, name := range []string{"viasftp.txt", "viascp-O.txt", "viascp.txt"} {
		p := filepath.Join(served.Home, name)
		b, err := os.ReadFile(p)
		var st syscall.Stat_t
		serr := syscall.Stat(p, &st)
		if err != nil || serr != nil || string(b) != "payload\n" || st.Uid != unlistedUID {
			t.Errorf("%s: %q, %v, %v, uid %d; want the payload, owned by uid %d", name, b, err, serr, st.Uid, unlistedUID)
		}
	}
}

// checkUnlistedDoctor: doctor, run as the same uid with the same settings, passes the
// account with a note instead of failing it.
func checkUnlistedDoctor(t *testing.T, a *agent) {
	t.Helper()
	args := append([]string{"--reuid", strconv.Itoa(unlistedUID), "--regid", "0", "--clear-groups", binPath, "doctor"}, a.opts.Args...)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "setpriv", args...)
	cmd.Env = agentEnv(a.opts.Env)
	out, err := cmd.CombinedOutput()
	if !strings.Contains(string(out), "not in /etc/passwd, which jobsshd handles") || regexp.MustCompile(`(?m)^\s*FAIL.*account`).Match(out) {
		t.Errorf("doctor as uid %d (%v) does not pass the account with a note:\n%s", unlistedUID, err, out)
	}
}
