package sftpd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FuzzSplitShellWordsLikeSh checks the scp command line splitter against the shell it
// stands in for: every command line that splitShellWords takes (the client sends it;
// the agent serves scp itself instead of running it through the user's shell) must
// split into the words /bin/sh makes of it, with globbing off and HOME=. (the splitter
// leaves globs to ServeSCP and turns "~" into "."). FuzzParseSCPCommand checks the
// parser's own round trip.
//
// A command line with any of $ ` ; | & < > ( ) { } is never shown to the shell, even
// quoted, so that a splitter bug cannot make the shell run a command; the shell runs as
// nobody (when the test runs as root), with no PATH, in an empty directory.
func FuzzSplitShellWordsLikeSh(f *testing.F) {
	for _, seed := range []string{
		"scp -t /tmp/x", "scp -r -p -d -f -- '/a b' c\\ d \"e f\"", "scp -f ~/*.txt", "scp -f ~ a~b '~'",
		`scp -f "a\"b\\c\d" 'x'"y"z`, "scp -t 'データ' données", "scp -t a\\\nb 'c\nd'", "scp -f [!a]* b?c",
		"  scp\t-t   x  ", "scp -t a#b ''", `scp -t "\'" '\'`,
	} {
		f.Add(seed)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		f.Fatal(err)
	}
	// A directory nobody can enter (f.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "jobsshd-fuzz-sh-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	f.Fuzz(func(t *testing.T, command string) {
		words, ok := splitShellWords(command)
		if !ok || strings.ContainsAny(command, "$`;|&<>(){}") {
			return
		}
		// Each word as its length and its bytes: words may hold newlines.
		script := "set -f\nHOME=.\nw() { for a; do printf '%d:%s' \"${#a}\" \"$a\"; done; }\nw " + command + "\n"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, sh, "-c", script)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/nonexistent", "LC_ALL=C"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sh -c for %q: %v: %s", command, err, stderr.Bytes())
		}
		var shWords []string
		for len(out) > 0 {
			n, rest, found := bytes.Cut(out, []byte(":"))
			size, err := strconv.Atoi(string(n))
			if !found || err != nil || size > len(rest) {
				t.Fatalf("sh -c for %q: unreadable output %q", command, out)
			}
			shWords = append(shWords, string(rest[:size]))
			out = rest[size:]
		}
		if len(shWords) != len(words) {
			t.Fatalf("command %q: got %d words %+v, sh makes %d: %q", command, len(words), words, len(shWords), shWords)
		}
		for i, w := range words {
			if w.text != shWords[i] {
				t.Fatalf("command %q: word %d is %q, sh makes %q (all: %q)", command, i, w.text, shWords[i], shWords)
			}
		}
	})
}
