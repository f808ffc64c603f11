package sftpd

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writeTree creates files (content) and directories (names ending in "/") under root.
func writeTree(t *testing.T, root string, tree map[string]string) {
	t.Helper()
	for name, content := range tree {
		path := filepath.Join(root, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		// Explicit, whatever the umask: the C lines carry it.
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sourceCase is one tree of files sent by ServeSCP in source mode (scp -f) to a client
// that answers with the status bytes in input.
type sourceCase struct {
	name     string
	args     SCPArgs           // "HOME" in a path is replaced by the home directory
	tree     map[string]string // as writeTree takes it; "t" gets mtime 1000000000
	input    string            // the client's status bytes
	wantOut  string
	wantCode int
}

var sourceCases = []sourceCase{
	{
		name:    "one file",
		args:    SCPArgs{Paths: []string{"a.txt"}},
		tree:    map[string]string{"a.txt": "hello"},
		input:   "\x00\x00\x00",
		wantOut: "C0644 5 a.txt\nhello\x00",
	},
	{
		name:    "absolute path and trailing slash",
		args:    SCPArgs{Paths: []string{"HOME/d/b.txt"}},
		tree:    map[string]string{"d/b.txt": "b"},
		input:   "\x00\x00\x00",
		wantOut: "C0644 1 b.txt\nb\x00",
	},
	{
		name:    "name with spaces and unicode",
		args:    SCPArgs{Paths: []string{"dir/données 🚀.csv"}},
		tree:    map[string]string{"dir/données 🚀.csv": "1,2"},
		input:   "\x00\x00\x00",
		wantOut: "C0644 3 données 🚀.csv\n1,2\x00",
	},
	{
		name:    "times with -p",
		args:    SCPArgs{PreserveTimes: true, Paths: []string{"t"}},
		tree:    map[string]string{"t": "x"},
		input:   "\x00\x00\x00\x00",
		wantOut: "T1000000000 0 1000000100 0\nC0644 1 t\nx\x00",
	},
	{
		name:     "missing file is a warning and the rest is sent",
		args:     SCPArgs{Paths: []string{"nope", "a"}},
		tree:     map[string]string{"a": "A"},
		input:    "\x00\x00\x00",
		wantOut:  "\x01scp: nope: No such file or directory\nC0644 1 a\nA\x00",
		wantCode: 1,
	},
	{
		name:     "directory without -r",
		args:     SCPArgs{Paths: []string{"d"}},
		tree:     map[string]string{"d/": ""},
		input:    "\x00",
		wantOut:  "\x01scp: d: not a regular file\n",
		wantCode: 1,
	},
	{
		name:    "directory with -r",
		args:    SCPArgs{Recursive: true, Paths: []string{"d/"}},
		tree:    map[string]string{"d/sub/f": "f"},
		input:   strings.Repeat("\x00", 7),
		wantOut: "D0755 0 d\nD0755 0 sub\nC0644 1 f\nf\x00E\nE\n",
	},
	{
		name:     "client refuses the file",
		args:     SCPArgs{Paths: []string{"a", "b"}},
		tree:     map[string]string{"a": "A", "b": "B"},
		input:    "\x00\x01scp: a: Permission denied\n\x00\x00",
		wantOut:  "C0644 1 a\nC0644 1 b\nB\x00",
		wantCode: 1,
	},
	{
		name:     "client fatal error",
		args:     SCPArgs{Paths: []string{"a", "b"}},
		tree:     map[string]string{"a": "A", "b": "B"},
		input:    "\x00\x02scp: a: no space\n",
		wantOut:  "C0644 1 a\n",
		wantCode: 1,
	},
	{
		name:     "client gone before starting",
		args:     SCPArgs{Paths: []string{"a"}},
		tree:     map[string]string{"a": "A"},
		wantCode: 1,
	},
	{
		name:     "client gone after the header",
		args:     SCPArgs{Paths: []string{"a"}},
		tree:     map[string]string{"a": "A"},
		input:    "\x00",
		wantOut:  "C0644 1 a\n",
		wantCode: 1,
	},
	{
		name:    "glob",
		args:    SCPArgs{Paths: []string{"*.csv"}, Patterns: []string{"*.csv"}},
		tree:    map[string]string{"b.csv": "b", "a.csv": "a", ".hidden.csv": "h", "c.txt": "c"},
		input:   strings.Repeat("\x00", 5),
		wantOut: "C0644 1 a.csv\na\x00C0644 1 b.csv\nb\x00",
	},
	{
		name:    "glob across directories",
		args:    SCPArgs{Paths: []string{"./*/[!b]*"}, Patterns: []string{"./*/[^b]*"}},
		tree:    map[string]string{"x/a": "1", "x/b": "2", "y/c": "3", "z": "4"},
		input:   strings.Repeat("\x00", 5),
		wantOut: "C0644 1 a\n1\x00C0644 1 c\n3\x00",
	},
	{
		name:     "glob without a match stays literal",
		args:     SCPArgs{Paths: []string{"*.none"}, Patterns: []string{"*.none"}},
		input:    "\x00",
		wantOut:  "\x01scp: *.none: No such file or directory\n",
		wantCode: 1,
	},
	{
		name:     "quoted glob characters are literal",
		args:     SCPArgs{Paths: []string{"[a]*"}, Patterns: []string{`\[a\]*`}},
		tree:     map[string]string{"[a]x": "1", "a": "2"},
		input:    "\x00\x00\x00",
		wantOut:  "C0644 1 [a]x\n1\x00",
		wantCode: 0,
	},
	{
		name:     "name with a newline is skipped",
		args:     SCPArgs{Paths: []string{"a\nb"}},
		tree:     map[string]string{"a\nb": "x"},
		input:    "\x00",
		wantOut:  "\x01scp: \"a\\nb\": skipping, filename contains a newline\n",
		wantCode: 1,
	},
	{
		name:     "root has no name",
		args:     SCPArgs{Recursive: true, Paths: []string{"/"}},
		input:    "\x00",
		wantOut:  "\x01scp: /: cannot be copied: it has no file name\n",
		wantCode: 1,
	},
}

func TestServeSCPSource(t *testing.T) {
	t.Parallel()
	for _, tt := range sourceCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runSourceCase(t, tt)
		})
	}
}

// runSourceCase writes tt's tree into a new home directory, runs the source and checks
// what it sent and its exit status.
func runSourceCase(t *testing.T, tt sourceCase) {
	home := t.TempDir()
	writeTree(t, home, tt.tree)
	if err := os.Chtimes(filepath.Join(home, "t"), time.Unix(1000000100, 0), time.Unix(1000000000, 0)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	args := tt.args
	args.Source = true
	args.Paths = append([]string(nil), args.Paths...)
	for i, p := range args.Paths {
		args.Paths[i] = strings.Replace(p, "HOME", home, 1)
	}
	out, code := serveSCPForTest(t, args, home, tt.input)
	if out != tt.wantOut {
		t.Errorf("got output %q, want %q", out, tt.wantOut)
	}
	if code != tt.wantCode {
		t.Errorf("got exit status %d, want %d", code, tt.wantCode)
	}
}

func TestServeSCPSourceSpecialFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(home, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without O_NONBLOCK the open would wait for a writer forever.
	out, code := serveSCPForTest(t, SCPArgs{Source: true, Paths: []string{"fifo", "/dev/null"}}, home, "\x00")
	want := "\x01scp: fifo: not a regular file\n\x01scp: /dev/null: not a regular file\n"
	if out != want || code != 1 {
		t.Errorf("got %q, status %d; want %q, status 1", out, code, want)
	}
}

// TestServeSCPHomeName: "~" is sent under the home directory's own name, as a shell's
// expansion would give it, not as ".".
func TestServeSCPHomeName(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "work")
	writeTree(t, home, map[string]string{"f": "x"})
	args, ok := ParseSCPCommand("scp -r -f ~")
	if !ok {
		t.Fatal("ParseSCPCommand: got ok false")
	}
	out, code := serveSCPForTest(t, args, home, strings.Repeat("\x00", 5))
	if want := "D0755 0 work\nC0644 1 f\nx\x00E\n"; out != want || code != 0 {
		t.Errorf("got %q, status %d; want %q, status 0", out, code, want)
	}
}

// TestServeSCPRoundTrip connects a source and a sink, as two scp processes would be.
func TestServeSCPRoundTrip(t *testing.T) {
	t.Parallel()
	src, dst := t.TempDir(), t.TempDir()
	writeTree(t, src, map[string]string{
		"tree/a.txt": "alpha", "tree/sub/b b.bin": strings.Repeat("β", 300000), "tree/empty/": "",
		"tree/sub/deeper/c": "c",
	})
	if err := os.Chmod(filepath.Join(src, "tree/sub/b b.bin"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "tree/empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1234567890, 0)
	for _, p := range []string{"tree/a.txt", "tree/sub/deeper", "tree/sub", "tree"} {
		if err := os.Chtimes(filepath.Join(src, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	toSink, fromSource := io.Pipe()
	toSource, fromSink := io.Pipe()
	var wg sync.WaitGroup
	var sourceCode, sinkCode int
	var sourceLog, sinkLog bytes.Buffer
	wg.Add(2)
	go func() {
		defer wg.Done()
		sourceCode = ServeSCP(SCPArgs{Source: true, Recursive: true, PreserveTimes: true, Verbose: true, Paths: []string{"tree"}}, src, toSource, fromSource, &sourceLog, Options{})
		fromSource.Close() // the sink sees the end
	}()
	go func() {
		defer wg.Done()
		sinkCode = ServeSCP(SCPArgs{Sink: true, Recursive: true, PreserveTimes: true, TargetIsDir: true, Verbose: true, Paths: []string{"."}}, dst, toSink, fromSink, &sinkLog, Options{})
		fromSink.Close()
	}()
	wg.Wait()
	if sourceCode != 0 || sinkCode != 0 {
		t.Fatalf("got exit status %d (source), %d (sink), want 0, 0\nsource log:\n%s\nsink log:\n%s", sourceCode, sinkCode, &sourceLog, &sinkLog)
	}
	if !strings.Contains(sinkLog.String(), "Sink: C0750 600000 b b.bin") {
		t.Errorf("sink log: got %q, want the C line of \"b b.bin\"", &sinkLog)
	}
	compareTrees(t, filepath.Join(src, "tree"), filepath.Join(dst, "tree"), true)
}

// compareTrees checks that got has want's files, contents and modes, and, with times,
// modification times.
func compareTrees(t *testing.T, want, got string, times bool) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(want, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		rel, _ := filepath.Rel(want, path)
		wi, err := os.Stat(path)
		if err != nil {
			return err
		}
		gi, err := os.Stat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if gi.Mode() != wi.Mode() {
			t.Errorf("%s: got mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		if times && !gi.ModTime().Equal(wi.ModTime().Truncate(time.Second)) {
			t.Errorf("%s: got mtime %v, want %v", rel, gi.ModTime(), wi.ModTime())
		}
		if d.Type().IsRegular() {
			wb, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			gb, err := os.ReadFile(filepath.Join(got, rel))
			if err != nil {
				return err
			}
			if !bytes.Equal(gb, wb) {
				t.Errorf("%s: got %d bytes, want %d bytes, different content", rel, len(gb), len(wb))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("compareTrees: only %d entries in %s", n, want)
	}
}
