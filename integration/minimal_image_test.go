package integration

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// The minimal image: a root filesystem holding jobsshd, /etc/passwd, /etc/group, a
// static shell and the account's home, nothing else (no /tmp, no scp, no sftp-server, no
// libc, no /etc/shells, no locale). jobsshd runs in it the way a container runtime runs
// an entrypoint: in its own mount and PID namespaces, chrooted, as PID 1, with /proc and
// a minimal /dev, in the host's network namespace so that the host's clients reach it
// on 127.0.0.1.
//
// The shell is Debian's busybox-static as /bin/busybox with /bin/sh a link to it, and no
// other applet links. Its sh runs applets by name without links (busybox's
// FEATURE_SH_STANDALONE, through /proc/self/exe): the tests use `sleep` that way, for
// background jobs that outlive their session.
const (
	minimalUser  = "work"
	minimalUID   = 1000
	minimalHome  = "/home/work"
	minimalBin   = "/usr/local/bin/jobsshd"
	minimalState = "/var/lib/jobsshd" // jobsshd's default as root
	busyboxPath  = "/bin/busybox"
)

// minimalImageStart runs as the namespace's first process, before jobsshd replaces it
// ($1 is the root filesystem, the rest jobsshd's arguments). It gives the image what
// every container runtime (runc, crun, containerd, Docker, Podman) gives a container, and
// no more. unshare --mount-proc already mounted the namespace's own /proc: jobsshd finds
// itself through /proc/self/exe (to serve sftp and scp), busybox runs applets through
// it, sessions read /proc/1/environ. /dev is a small tmpfs with the runtime's device
// nodes: null, zero and urandom (programs and Go's crypto/rand fallback), tty; devpts
// is a fresh instance with /dev/ptmx linked into it, for ptys, mode 620 group 5 as
// runtimes mount it. Both mounts live in the private mount namespace: they vanish with it.
const minimalImageStart = `set -eu
root=$1; shift
mount -t tmpfs -o nosuid,noexec,mode=755,size=64k tmpfs "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/urandom" c 1 9
mknod -m 666 "$root/dev/tty" c 5 0
mkdir "$root/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
exec chroot "$root" ` + minimalBin + ` "$@"
`

// containerEnv is the environment a runtime hands the entrypoint (the image's PATH and
// HOME, plus one platform variable that sessions must see).
var containerEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"JOB_MARKER=minimal-image",
}

// buildMinimalImage lays out the root filesystem in a temp dir and returns it, the
// account as the host sees it (Home is the host path) and the client key that
// authorized_keys holds.
func buildMinimalImage(t *testing.T) (root string, acct account, key string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "rootfs")
	acct = account{Name: minimalUser, UID: minimalUID, GID: minimalUID, Home: filepath.Join(root, minimalHome)}
	for _, d := range []string{"bin", "etc", "proc", "dev", filepath.Dir(minimalBin), minimalHome + "/.ssh"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(root, 0o755); err != nil { // it becomes "/", which the account walks
		t.Fatal(err)
	}
	copyFile(t, binPath, filepath.Join(root, minimalBin), 0o755)
	requireStaticBinary(t, busyboxPath, "busybox-static")
	copyFile(t, busyboxPath, filepath.Join(root, busyboxPath), 0o755)
	if err := os.Symlink("busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n"+
		fmt.Sprintf("%s:x:%d:%d::%s:/bin/sh\n", minimalUser, minimalUID, minimalUID, minimalHome), 0o644)
	writeFile(t, filepath.Join(root, "etc/group"), "root:x:0:\ntty:x:5:\n"+
		fmt.Sprintf("%s:x:%d:\n", minimalUser, minimalUID), 0o644)
	key = newClientKey(t, "minimal-image")
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	ssh := filepath.Join(acct.Home, ".ssh")
	writeFile(t, filepath.Join(ssh, "authorized_keys"), string(pub), 0o600)
	for _, p := range []string{acct.Home, ssh, filepath.Join(ssh, "authorized_keys")} {
		if err := os.Chown(p, minimalUID, minimalUID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	return root, acct, key
}

// requireStaticBinary fails unless path is a statically linked executable (no ELF
// interpreter): the image has no dynamic loader and no libc. Debian's dynamically linked
// busybox package installs /bin/busybox too.
func requireStaticBinary(t *testing.T, path, debianPackage string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v (apt-get install %s)", path, err, debianPackage)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked, want a static one (apt-get install %s)", path, debianPackage)
		}
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}
	writeFile(t, dst, string(b), mode)
}

// startInMinimalImage starts jobsshd as PID 1 of new mount and PID namespaces, chrooted
// into root, and waits for its status.json. The returned agent works with the client
// helpers (SSH, sftpBatch, scp); pid is jobsshd's pid in the host's namespace. Cleanup
// stops it with SIGTERM and wants exit status 0.
func startInMinimalImage(t *testing.T, root string, acct account, key string) (a *agent, pid int) {
	t.Helper()
	requireTool(t, "unshare", "util-linux")
	requireTool(t, "mount", "mount")
	requireTool(t, "chroot", "coreutils")
	requireTool(t, "mknod", "coreutils")
	// --kill-child: should unshare die, its child (and with it the namespace) dies too.
	args := []string{"--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
		"--mount-proc=" + filepath.Join(root, "proc"),
		"sh", "-c", minimalImageStart, "sh", root,
		"--bind", "127.0.0.1", "--port", "0", "--log-level", "debug"}
	a = &agent{t: t, Account: acct, IDFile: key, StateDir: filepath.Join(root, minimalState),
		stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command("unshare", args...)
	a.cmd.Env = containerEnv
	a.cmd.Stdout, a.cmd.Stderr = a.stdout, a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start unshare: %v", err)
	}
	go func() { a.waitErr = a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		stopMinimalImage(t, a, pid, root)
		if t.Failed() {
			t.Logf("agent stdout:\n%s", a.stdout.String())
			t.Logf("agent stderr (logs):\n%s", a.stderr.String())
		}
	})

	statusPath := filepath.Join(a.StateDir, "status.json")
	ok := testwait.Until(statusTimeout, func() bool {
		select {
		case <-a.exited:
			return true
		default:
		}
		b, err := os.ReadFile(statusPath) // fresh state dir: any status.json is this run's
		return err == nil && json.Unmarshal(b, &a.Status) == nil
	})
	select {
	case <-a.exited:
		t.Fatalf("jobsshd in the minimal image exited before writing status.json: %v\n%s", a.waitErr, a.stderr.String())
	default:
	}
	if !ok {
		t.Fatalf("no %s after %v", statusPath, statusTimeout)
	}
	a.Port = a.Status.Port
	if a.Status.PID != 1 || a.Status.User != minimalUser {
		t.Fatalf("status.json: pid %d user %q, want pid 1 (the namespace's init) serving %q (the default account as root)",
			a.Status.PID, a.Status.User, minimalUser)
	}
	pid = childOf(t, a.cmd.Process.Pid)
	return a, pid
}

// childOf is the only child of pid (unshare --fork's), which is jobsshd once it wrote
// its status.
func childOf(t *testing.T, parent int) int {
	t.Helper()
	kids := childPids(parent)
	if len(kids) != 1 {
		t.Fatalf("unshare (pid %d) has children %v, want exactly jobsshd", parent, kids)
	}
	if comm := procComm(kids[0]); comm != "jobsshd" {
		t.Fatalf("unshare's child %d is %q, want jobsshd", kids[0], comm)
	}
	return kids[0]
}

// childPids lists pid's children (of all its threads: Go's children hang off the
// thread that forked them, orphans off any).
func childPids(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited meanwhile
		}
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)) // "" once gone
	return strings.TrimSpace(string(b))
}

// procState is the state letter of pid in /proc/PID/stat (Z for a zombie), 0 once gone.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	rp := bytes.LastIndexByte(b, ')')
	if err != nil || rp < 0 || rp+2 >= len(b) {
		return 0
	}
	return b[rp+2]
}

// stopMinimalImage stops jobsshd with SIGTERM (unshare does not pass signals on), and
// kills it when it does not exit in time, which tears the whole namespace down.
func stopMinimalImage(t *testing.T, a *agent, pid int, root string) {
	if pid == 0 { // it never got as far as serving
		_ = a.cmd.Process.Kill() // --kill-child takes the namespace down with it
		<-a.exited
		return
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("signal jobsshd (pid %d): %v", pid, err)
	}
	select {
	case <-a.exited:
		if a.waitErr != nil {
			t.Errorf("jobsshd in the minimal image after SIGTERM: %v, want exit status 0", a.waitErr)
		}
	case <-time.After(stopTimeout):
		_ = syscall.Kill(pid, syscall.SIGKILL) // PID 1 gone: the kernel kills the namespace
		<-a.exited
		t.Errorf("jobsshd did not exit within %v of SIGTERM; killed it", stopTimeout)
	}
	// The mounts were made in the private mount namespace, gone with it: none may show
	// here (t.TempDir's removal would otherwise walk into them).
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		if strings.Contains(string(b), " "+root+"/") {
			t.Errorf("mounts under %s leaked into the host's mount namespace:\n%s", root, b)
		}
	}
}

// TestMinimalImage: jobsshd alone in an image with nothing but a static shell serves
// commands, terminals, SFTP and both scp protocols, and agent forwarding, and as the
// image's PID 1 it reaps the orphans its sessions leave.
func TestMinimalImage(t *testing.T) {
	t.Parallel()
	root, acct, key := buildMinimalImage(t)
	a, pid := startInMinimalImage(t, root, acct, key)

	t.Run("exec", func(t *testing.T) {
		res := a.SSH(t, sshCall{Command: "echo hi"})
		if res.ExitCode != 0 || res.Stdout != "hi\n" {
			t.Errorf("ssh echo hi: %s, want exit 0 and \"hi\\n\"", res)
		}
		if res := a.SSH(t, sshCall{Command: "echo out; echo err >&2; exit 42"}); res.ExitCode != 42 || res.Stdout != "out\n" || res.Stderr != "err\n" {
			t.Errorf("ssh 'exit 42': %s, want exit 42 with out and err", res)
		}
		// What a login gives the session in an image without /etc/shells, locale, /tmp
		// or any program but the shell.
		got := a.Run(t, `echo "$HOME|$USER|$SHELL|$PATH|$JOB_MARKER|$(pwd)"; [ -e /tmp ] || echo no-tmp`)
		want := "/home/work|work|/bin/sh|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|minimal-image|/home/work\nno-tmp\n"
		if got != want {
			t.Errorf("session environment: got %q, want %q", got, want)
		}
	})

	t.Run("pty shell", func(t *testing.T) {
		input := "echo hi-$((40+2))\necho TTY=$SSH_TTY\n[ -t 0 ] && echo isatty-$((6*7))\nexit 7\n"
		res := a.SSH(t, sshCall{Opts: []string{"-tt"}, Stdin: strings.NewReader(input)})
		if res.ExitCode != 7 {
			t.Errorf("login shell ended with 'exit 7': %s, want exit 7", res)
		}
		// The terminal echoes the typed lines; these patterns match only the output.
		for _, want := range []string{`hi-42\r\n`, `TTY=/dev/pts/\d+\r\n`, `isatty-42\r\n`} {
			if !regexp.MustCompile(want).MatchString(res.Stdout) {
				t.Errorf("shell output %q does not match %q", res.Stdout, want)
			}
		}
	})

	t.Run("transfers", func(t *testing.T) {
		rel, abs := userDir(t, acct)
		local := t.TempDir()
		orig := filepath.Join(local, "orig.bin")
		writeRandomFile(t, orig, 1<<20+3, 8, 0o644)
		roundTripSFTPAndSCP(t, a, orig, local, rel, abs)
		requireOwnedBy(t, abs, acct)
	})

	t.Run("agent forwarding without /tmp", func(t *testing.T) {
		res := a.sshWithAgent(t, startSSHAgent(t), `echo "$SSH_AUTH_SOCK"; [ -S "$SSH_AUTH_SOCK" ] && echo socket`)
		lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], minimalHome+"/.jobsshd-agent-") || lines[1] != "socket" {
			t.Fatalf("ssh -A: got %q, want a socket in a directory of %s", res.Stdout, minimalHome)
		}
		dir := filepath.Join(root, filepath.Dir(lines[0]))
		if !testwait.Until(10*time.Second, func() bool { _, err := os.Lstat(dir); return errors.Is(err, fs.ErrNotExist) }) {
			t.Errorf("%s still exists after the client left", dir)
		}
	})

	t.Run("orphans reaped", func(t *testing.T) { testMinimalImageReapsOrphans(t, a, pid) })
}

// testMinimalImageReapsOrphans leaves background jobs behind from several sessions, at
// once and with a terminal: each session still reports its own exit status (the reaper
// took none), the jobs are reparented to jobsshd, and once they exit no zombie is left
// and each was logged as reaped.
//
// Every step waits for an event, not for a time: the jobs run until the test kills them
// (a job that ended before its shell exited may be reaped by that shell, and is then no
// orphan at all), and the log is read until it holds the lines (jobsshd logs a reap
// after the zombie is gone, and the harness copies its stderr in a goroutine).
func testMinimalImageReapsOrphans(t *testing.T, a *agent, pid int) {
	// A job that outlives its session until the test kills it, with its output not on
	// the session's pipes, so the session ends at once. Its argument names it.
	orphan := func(i int) string { return fmt.Sprintf("sleep %d </dev/null >/dev/null 2>&1 &", orphanSeconds+i) }
	if res := a.SSH(t, sshCall{Command: orphan(0) + " exit 11"}); res.ExitCode != 11 {
		t.Fatalf("session leaving a job: %s, want exit 11", res)
	}
	const n = 8
	results := make([]sshResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = a.trySSH(sshCall{Command: fmt.Sprintf("%s exit %d", orphan(1+i), 20+i)})
		})
	}
	wg.Wait()
	for i, res := range results {
		if errs[i] != nil || res.ExitCode != 20+i {
			t.Errorf("concurrent session %d: %s, %v; want exit %d", i, res, errs[i], 20+i)
		}
	}
	// Each job must be jobsshd's child before it exits: otherwise there is nothing to
	// reap and the checks below prove nothing.
	var jobs map[int]int
	reparented := testwait.Until(30*time.Second, func() bool {
		jobs = orphanJobs(pid)
		return len(jobs) == n+1
	})
	if !reparented {
		t.Fatalf("jobsshd's children hold jobs %v, want all %d sleeps of the sessions: they were not reparented to it", jobs, n+1)
	}
	for job := range jobs {
		if err := syscall.Kill(job, syscall.SIGKILL); err != nil {
			t.Errorf("kill the orphaned job %d: %v", job, err)
		}
	}
	// With a terminal the job is in the foreground group: the hangup at the end of
	// the session kills it, and it is an orphan to reap all the same.
	if res := a.SSH(t, sshCall{Opts: []string{"-tt"}, Command: "sleep 5 & exit 5", Stdin: strings.NewReader("")}); res.ExitCode != 5 {
		t.Errorf("pty session leaving a job: %s, want exit 5", res)
	}

	var left []string
	clean := testwait.Until(30*time.Second, func() bool {
		left = left[:0]
		for _, c := range childPids(pid) {
			if st := procState(c); st == 'Z' || procComm(c) == "sleep" {
				left = append(left, fmt.Sprintf("%d %s %c", c, procComm(c), st))
			}
		}
		return len(left) == 0
	})
	if !clean {
		t.Errorf("jobsshd's children after 30s: %v, want no zombie and no sleep left", left)
	}
	reaped := func() int { return strings.Count(a.Logs(), "reaped orphaned process") }
	if !testwait.Until(10*time.Second, func() bool { return reaped() >= n+2 }) {
		t.Errorf("jobsshd logged %d reaped orphans, want at least %d (one per session that left a job)", reaped(), n+2)
	}
	if res := a.SSH(t, sshCall{Command: "exit 3"}); res.ExitCode != 3 {
		t.Errorf("session after the orphans: %s, want exit 3", res)
	}
}

// orphanSeconds is the first job's sleep: far longer than the test, so only the test's
// kill ends the jobs, and an unusual number, so orphanJobs finds only them.
const orphanSeconds = 7301

// orphanJobs maps the pids of jobsshd's children that are the test's sleeps to their
// number (the sleep's argument minus orphanSeconds).
func orphanJobs(pid int) map[int]int {
	jobs := map[int]int{}
	for _, c := range childPids(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if err != nil || len(args) != 2 || filepath.Base(args[0]) != "sleep" {
			continue
		}
		if s, err := strconv.Atoi(args[1]); err == nil && s >= orphanSeconds && s < orphanSeconds+100 {
			jobs[c] = s - orphanSeconds
		}
	}
	return jobs
}
