package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// scpModes are OpenSSH scp's two protocols: SFTP (the default since OpenSSH 9.0; the
// sftp subsystem) and the legacy one (-O; an exec request `scp -t` / `scp -f`, which
// jobsshd serves itself).
var scpModes = []struct {
	name  string
	flags []string
}{
	{name: "sftp", flags: nil},
	{name: "legacy", flags: []string{"-O"}},
}

// TestSCP: upload, download, -r, -p and paths relative to the home (plain and ~/), in both
// of scp's protocols; everything created belongs to the user.
func TestSCP(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	for _, mode := range scpModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			r := newSCPRun(t, a, mode.flags)
			for _, tc := range scpCases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, r) })
			}
			requireOwnedBy(t, r.abs, a.Account)
		})
	}
}

// scpCases run in turn, in each of scp's protocols, on one scpRun.
var scpCases = []struct {
	name string
	run  func(t *testing.T, r *scpRun)
}{
	{"upload and download", scpUploadAndDownload},
	{"home-relative with ~/", scpHomeRelative},
	{"recursive", scpRecursive},
	{"preserve", scpPreserve},
	{"unreadable file in a tree", scpUnreadableFileInTree},
	{"missing remote file", scpMissingRemoteFile},
}

// scpRun is what TestSCP's cases share in one of scp's protocols: the agent, the flags
// that choose the protocol, a directory of the account's (rel to its home, and abs),
// a local directory and a 3 MiB file in it.
type scpRun struct {
	a               *agent
	flags           []string
	rel, abs, local string
	orig            string
	scp             func(t *testing.T, args ...string) sshResult
	mustSCP         func(t *testing.T, args ...string)
}

func newSCPRun(t *testing.T, a *agent, flags []string) *scpRun {
	t.Helper()
	r := &scpRun{a: a, flags: flags, local: t.TempDir()}
	r.rel, r.abs = userDir(t, a.Account)
	r.scp = func(t *testing.T, args ...string) sshResult {
		t.Helper()
		return a.scp(t, append(append([]string(nil), flags...), args...)...)
	}
	r.mustSCP = func(t *testing.T, args ...string) {
		t.Helper()
		if res := r.scp(t, args...); res.ExitCode != 0 {
			t.Fatalf("scp %s %s: %s, want exit 0", strings.Join(flags, " "), strings.Join(args, " "), res)
		}
	}
	r.orig = filepath.Join(r.local, "orig.bin")
	writeRandomFile(t, r.orig, 3<<20+5, 2, 0o644)
	return r
}

func scpUploadAndDownload(t *testing.T, r *scpRun) {
	a, rel, abs, local, orig, mustSCP := r.a, r.rel, r.abs, r.local, r.orig, r.mustSCP
	mustSCP(t, orig, a.remote(rel+"/up.bin"))
	requireSameContent(t, orig, filepath.Join(abs, "up.bin"))
	mustSCP(t, a.remote(rel+"/up.bin"), filepath.Join(local, "down.bin"))
	requireSameContent(t, orig, filepath.Join(local, "down.bin"))
	// Into an existing directory, the file keeps its name.
	mustSCP(t, orig, a.remote(rel))
	requireSameContent(t, orig, filepath.Join(abs, "orig.bin"))
}

func scpHomeRelative(t *testing.T, r *scpRun) {
	a, rel, abs, local, orig, mustSCP := r.a, r.rel, r.abs, r.local, r.orig, r.mustSCP
	mustSCP(t, orig, a.remote("~/"+rel+"/tilde.bin"))
	requireSameContent(t, orig, filepath.Join(abs, "tilde.bin"))
	mustSCP(t, a.remote("~/"+rel+"/tilde.bin"), filepath.Join(local, "tilde.back"))
	requireSameContent(t, orig, filepath.Join(local, "tilde.back"))
}

func scpRecursive(t *testing.T, r *scpRun) {
	a, rel, abs, local, mustSCP := r.a, r.rel, r.abs, r.local, r.mustSCP
	tree := filepath.Join(local, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSampleTree(t, tree)
	mustSCP(t, "-r", tree, a.remote(rel+"/"))
	requireSameTree(t, tree, filepath.Join(abs, "tree"), false)
	back := filepath.Join(local, "back")
	if err := os.Mkdir(back, 0o755); err != nil {
		t.Fatal(err)
	}
	mustSCP(t, "-r", a.remote(rel+"/tree"), back)
	requireSameTree(t, tree, filepath.Join(back, "tree"), false)
}

func scpPreserve(t *testing.T, r *scpRun) {
	a, rel, abs, local, mustSCP := r.a, r.rel, r.abs, r.local, r.mustSCP
	src := filepath.Join(local, "ptree")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSampleTree(t, src)
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	atime := time.Date(2002, 3, 4, 5, 6, 7, 0, time.UTC)
	file := filepath.Join(src, "run.sh")
	if err := os.Chmod(file, 0o751); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, filepath.Join(src, "sub")} {
		if err := os.Chtimes(p, atime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mustSCP(t, "-p", file, a.remote(rel+"/p.sh"))
	mustSCP(t, "-p", a.remote(rel+"/p.sh"), filepath.Join(local, "p.back"))
	mustSCP(t, "-r", "-p", src, a.remote(rel+"/"))
	back := filepath.Join(local, "pback")
	if err := os.Mkdir(back, 0o755); err != nil {
		t.Fatal(err)
	}
	mustSCP(t, "-r", "-p", a.remote(rel+"/ptree"), back)
	for _, p := range []string{
		filepath.Join(abs, "p.sh"), filepath.Join(local, "p.back"),
		filepath.Join(abs, "ptree", "run.sh"), filepath.Join(back, "ptree", "run.sh"),
	} {
		requireSameContent(t, file, p)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o751 || !fi.ModTime().Equal(mtime) {
			t.Errorf("%s after scp -p: mode %v, mtime %v; want -rwxr-x--x, %v", p, fi.Mode(), fi.ModTime().UTC(), mtime)
		}
	}
	for _, p := range []string{filepath.Join(abs, "ptree", "sub"), filepath.Join(back, "ptree", "sub")} {
		if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(mtime) {
			t.Errorf("directory %s after scp -rp: mtime %v (%v), want %v", p, fi.ModTime().UTC(), err, mtime)
		}
	}
	requireSameTree(t, src, filepath.Join(abs, "ptree"), true)
	requireSameTree(t, src, filepath.Join(back, "ptree"), true)
}

func scpUnreadableFileInTree(t *testing.T, r *scpRun) {
	a, rel, abs, local, scp := r.a, r.rel, r.abs, r.local, r.scp
	// Like OpenSSH: the file is reported, the rest still comes, the exit is 1.
	tree := filepath.Join(abs, "locked")
	for _, d := range []string{tree, filepath.Join(tree, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(tree, "a.txt"), "a\n", 0o644)
	writeFile(t, filepath.Join(tree, "secret"), "s\n", 0o000)
	writeFile(t, filepath.Join(tree, "sub", "z.txt"), "z\n", 0o644)
	runOrFatal(t, "chown", "-R", strconv.Itoa(a.Account.UID)+":"+strconv.Itoa(a.Account.GID), tree)
	back := filepath.Join(local, "locked-back")
	if err := os.Mkdir(back, 0o755); err != nil {
		t.Fatal(err)
	}
	res := scp(t, "-r", a.remote(rel+"/locked"), back)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Permission denied") {
		t.Errorf("scp -r of a tree with an unreadable file: %s, want a non-zero exit and \"Permission denied\"", res)
	}
	for _, f := range []string{"a.txt", "sub/z.txt"} {
		requireSameContent(t, filepath.Join(tree, f), filepath.Join(back, "locked", f))
	}
}

func scpMissingRemoteFile(t *testing.T, r *scpRun) {
	a, rel, local, scp := r.a, r.rel, r.local, r.scp
	res := scp(t, a.remote(rel+"/missing.bin"), filepath.Join(local, "missing.bin"))
	if res.ExitCode == 0 || !containsAny(res.Stderr, "No such file", "not found") {
		t.Errorf("scp of a missing remote file: %s, want a non-zero exit and \"No such file\"", res)
	}
	if _, err := os.Lstat(filepath.Join(local, "missing.bin")); !os.IsNotExist(err) {
		t.Errorf("scp of a missing remote file left a local file: %v", err)
	}
}

// TestSCPLegacyPaths: in the legacy protocol the remote path is a shell word on the
// server (users escape spaces and write globs as they would for the remote shell); names
// inside the protocol's C lines travel as they are. Spaces and non-ASCII letters survive
// both; globs expand; several sources need an existing target directory (-d).
func TestSCPLegacyPaths(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	const name = "a b ü.txt"
	const escaped = `a\ b\ ü.txt` // how the remote shell word is written
	writeFile(t, filepath.Join(local, name), "spaces and unicode\n", 0o644)
	mustSCP := func(t *testing.T, args ...string) {
		t.Helper()
		if res := a.scp(t, append([]string{"-O"}, args...)...); res.ExitCode != 0 {
			t.Fatalf("scp -O %s: %s, want exit 0", strings.Join(args, " "), res)
		}
	}
	// The name in the C line.
	mustSCP(t, filepath.Join(local, name), a.remote(rel+"/"))
	requireSameContent(t, filepath.Join(local, name), filepath.Join(abs, name))
	// The name in the command line, as sink target and as source.
	mustSCP(t, filepath.Join(local, name), a.remote(rel+`/other\ ñ\ name.txt`))
	requireSameContent(t, filepath.Join(local, name), filepath.Join(abs, "other ñ name.txt"))
	dl := filepath.Join(local, "dl")
	if err := os.Mkdir(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	mustSCP(t, a.remote(rel+"/"+escaped), dl)
	requireSameContent(t, filepath.Join(local, name), filepath.Join(dl, name))
	// Quotes work too; -T because the client cannot match a quoted request against the
	// name the server sends ("filename does not match request").
	mustSCP(t, "-T", a.remote(`"`+rel+`/other ñ name.txt"`), filepath.Join(dl, "quoted.txt"))
	requireSameContent(t, filepath.Join(local, name), filepath.Join(dl, "quoted.txt"))

	// Several sources: the client asks for `scp -d -t DIR`.
	for _, f := range []string{"x1.bin", "x2.bin", "y.txt"} {
		writeFile(t, filepath.Join(local, f), f+"\n", 0o644)
	}
	mustSCP(t, filepath.Join(local, "x1.bin"), filepath.Join(local, "x2.bin"), filepath.Join(local, "y.txt"), a.remote(rel+"/"))
	if res := a.scp(t, "-O", filepath.Join(local, "x1.bin"), filepath.Join(local, "x2.bin"), a.remote(rel+"/nodir")); res.ExitCode == 0 {
		t.Errorf("scp -O of two files to a directory that does not exist: %s, want a non-zero exit", res)
	}
	if _, err := os.Lstat(filepath.Join(abs, "nodir")); !os.IsNotExist(err) {
		t.Errorf("the refused copy into nodir created it: %v", err)
	}
	// A remote glob is expanded on the server, like the shell would.
	globbed := filepath.Join(local, "globbed")
	if err := os.Mkdir(globbed, 0o755); err != nil {
		t.Fatal(err)
	}
	mustSCP(t, a.remote(rel+"/x*.bin"), globbed)
	entries, err := os.ReadDir(globbed)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != "x1.bin x2.bin" {
		t.Errorf("scp -O host:%s/x*.bin fetched %q, want x1.bin and x2.bin", rel, got)
	}
	requireSameContent(t, filepath.Join(local, "x2.bin"), filepath.Join(globbed, "x2.bin"))
	requireOwnedBy(t, abs, a.Account)
}

// scpBadSinkInputs are malformed and hostile streams for the scp sink (`scp -t rel`, with
// -r where flags says so), each of which must be refused; escape is the path (relative
// to the home) that the hostile ones try to write.
func scpBadSinkInputs(rel string) (tests []struct{ name, flags, input string }, escape string) {
	escape = rel + "-escaped" // next to the target directory, in the home
	return []struct{ name, flags, input string }{
		{name: "not a mode", flags: "-t", input: "Cgarbage\n"},
		{name: "unknown record", flags: "-t", input: "zzz\n"},
		{name: "size out of range", flags: "-t", input: "C0644 99999999999999999999 f\n"},
		{name: "negative size", flags: "-t", input: "C0644 -5 f\n"},
		{name: "directory without -r", flags: "-t", input: "D0755 0 d\n"},
		{name: "dot-dot name", flags: "-t", input: "C0644 5 ../" + escape + "\nhello\x00"},
		{name: "slash in name", flags: "-t", input: "C0644 5 sub/f\nhello\x00"},
		{name: "dot-dot directory", flags: "-r -t", input: "D0755 0 ..\nC0644 5 " + escape + "\nhello\x00E\n"},
		{name: "line too long", flags: "-t", input: "C0644 5 " + strings.Repeat("a", 100<<10) + "\n"},
	}, escape
}

// scpSinkRefusal runs `scp FLAGS rel` with input and returns the message the sink sent
// back; it fails the test unless the sink refused with a status byte and a message and
// exited non-zero.
func scpSinkRefusal(t *testing.T, a *agent, flags, rel, input string) string {
	t.Helper()
	res := a.SSH(t, sshCall{Command: "scp " + flags + " " + rel, Stdin: strings.NewReader(input)})
	// The sink speaks first (a 0 byte: ready), then answers the bad line with 1
	// (warning) or 2 (fatal) and a message line.
	if res.ExitCode == 0 || len(res.Stdout) < 3 || res.Stdout[0] != 0 || (res.Stdout[1] != 1 && res.Stdout[1] != 2) {
		t.Fatalf("scp %s with %.60q: %s, want \"\\x00\" then a 1 or 2 status byte with a message, and a non-zero exit", flags, input, res)
	}
	return res.Stdout[2:]
}

// TestSCPLegacyProtocolErrors feeds the built-in scp sink malformed and hostile protocol
// lines: each gets an error to the client and a non-zero exit, nothing is written outside
// the target, and the agent keeps serving.
func TestSCPLegacyProtocolErrors(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	tests, escape := scpBadSinkInputs(rel)
	t.Cleanup(func() { _ = os.Remove(filepath.Join(a.Account.Home, escape)) }) // if a case failed
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scpSinkRefusal(t, a, tt.flags, rel, tt.input)
		})
	}
	for _, p := range []string{filepath.Join(a.Account.Home, escape), filepath.Join(abs, "sub")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want nothing written outside the target", p, err)
		}
	}
	if got := a.Run(t, "echo alive"); got != "alive\n" {
		t.Errorf("login after the protocol errors: %q, want \"alive\\n\"", got)
	}
}

// TestSCPLegacyProtocolErrorsLogged: issue 3 wants each refused scp protocol line to
// give "an error to the client and a log line"; the agent's log must carry the error the
// client got.
func TestSCPLegacyProtocolErrorsLogged(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, _ := userDir(t, a.Account)
	tests, escape := scpBadSinkInputs(rel)
	t.Cleanup(func() { _ = os.Remove(filepath.Join(a.Account.Home, escape)) })
	for _, tt := range tests {
		switch tt.name {
		case "not a mode", "dot-dot name", "line too long": // one of each kind is enough
		default:
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			msg := scpSinkRefusal(t, a, tt.flags, rel, tt.input)
			// The log may quote the message; look for its words up to the first quote.
			msg = strings.TrimPrefix(msg, "scp: ")
			msg, _, _ = strings.Cut(msg, `"`)
			msg = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(msg), ":"))
			if !testwait.Until(2*time.Second, func() bool { return strings.Contains(a.Logs(), msg) }) {
				t.Errorf("the agent log has no line with the error sent to the client (%q)", msg)
			}
		})
	}
}
