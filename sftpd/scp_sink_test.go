package sftpd

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveSCPForTest runs ServeSCP with a scripted client stream and returns what it sent.
func serveSCPForTest(t *testing.T, args SCPArgs, home, input string) (out string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = ServeSCP(args, home, strings.NewReader(input), &o, &e)
	return o.String(), code
}

// processUmask reads the umask without changing it (syscall.Umask would, for every
// test running in parallel).
func processUmask(t *testing.T) fs.FileMode {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read umask: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatalf("parse umask %q: %v", v, err)
			}
			return fs.FileMode(m)
		}
	}
	t.Fatal("no Umask line in /proc/self/status")
	return 0
}

func TestServeSCPSink(t *testing.T) {
	t.Parallel()
	umask := processUmask(t)
	type file struct {
		content string
		mode    fs.FileMode // checked when not 0
		mtime   int64       // checked when not 0
	}
	tests := []struct {
		name     string
		args     SCPArgs
		setup    map[string]string // files created before
		input    string
		wantOut  string
		wantCode int
		want     map[string]file // paths relative to home
		wantDirs map[string]file // content unused
	}{
		{
			name:    "file into directory",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "C0644 5 a.txt\nhello\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"a.txt": {content: "hello", mode: 0o644 &^ umask}},
		},
		{
			name:    "file to a new file name",
			args:    SCPArgs{Sink: true, Paths: []string{"new.txt"}},
			input:   "C0600 2 ignored\nhi\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"new.txt": {content: "hi", mode: 0o600 &^ umask}},
		},
		{
			name:    "overwrite truncates and keeps the mode without -p",
			args:    SCPArgs{Sink: true, Paths: []string{"old.txt"}},
			setup:   map[string]string{"old.txt": "a much longer old content"},
			input:   "C0755 2 old.txt\nhi\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"old.txt": {content: "hi", mode: 0o644 &^ umask}},
		},
		{
			name:    "absolute target",
			args:    SCPArgs{Sink: true, Paths: []string{"HOME/abs.txt"}},
			input:   "C0644 1 x\ny\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"abs.txt": {content: "y"}},
		},
		{
			name:    "names with spaces and unicode",
			args:    SCPArgs{Sink: true, TargetIsDir: true, Paths: []string{"."}},
			input:   "C0644 3 a b データ 🚀.txt\nabc\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"a b データ 🚀.txt": {content: "abc"}},
		},
		{
			name:    "empty file",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "C0644 0 empty\n\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"empty": {content: ""}},
		},
		{
			name:    "preserve mode and times",
			args:    SCPArgs{Sink: true, PreserveTimes: true, Paths: []string{"."}},
			input:   "T1000000000 0 1000000001 0\nC0750 3 run.sh\nabc\x00",
			wantOut: "\x00\x00\x00\x00",
			want:    map[string]file{"run.sh": {content: "abc", mode: 0o750, mtime: 1000000000}},
		},
		{
			name:    "preserve mode of an existing file",
			args:    SCPArgs{Sink: true, PreserveTimes: true, Paths: []string{"."}},
			setup:   map[string]string{"x": "old"},
			input:   "C0700 1 x\nn\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"x": {content: "n", mode: 0o700}},
		},
		{
			name:    "setuid, setgid and sticky are dropped",
			args:    SCPArgs{Sink: true, PreserveTimes: true, Paths: []string{"."}},
			input:   "C7755 1 s\nx\x00",
			wantOut: "\x00\x00\x00",
			want:    map[string]file{"s": {content: "x", mode: 0o755}},
		},
		{
			name:    "times without -p are honoured, as OpenSSH does",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "T1500000000 0 1500000000 0\nC0644 1 t\nx\x00",
			wantOut: "\x00\x00\x00\x00",
			want:    map[string]file{"t": {content: "x", mtime: 1500000000}},
		},
		{
			name:    "recursive with nested directories",
			args:    SCPArgs{Sink: true, Recursive: true, PreserveTimes: true, Paths: []string{"."}},
			input:   "T1200000000 0 1200000000 0\nD0750 0 top\nC0644 3 f\nabc\x00D0700 0 sub dir\nC0600 1 g\nz\x00E\nE\n",
			wantOut: strings.Repeat("\x00", 10),
			want: map[string]file{
				"top/f":         {content: "abc", mode: 0o644},
				"top/sub dir/g": {content: "z", mode: 0o600},
			},
			wantDirs: map[string]file{"top": {mode: 0o750, mtime: 1200000000}, "top/sub dir": {mode: 0o700}},
		},
		{
			name:     "recursive into a new target name",
			args:     SCPArgs{Sink: true, Recursive: true, Paths: []string{"renamed"}},
			input:    "D0755 0 orig\nC0644 1 f\nx\x00E\n",
			wantOut:  strings.Repeat("\x00", 5),
			want:     map[string]file{"renamed/f": {content: "x"}},
			wantDirs: map[string]file{"renamed": {}},
		},
		{
			name:     "directory without u+w keeps its mode without -p",
			args:     SCPArgs{Sink: true, Recursive: true, Paths: []string{"."}},
			input:    "D0555 0 ro\nC0644 1 f\nx\x00E\n",
			wantOut:  strings.Repeat("\x00", 5),
			want:     map[string]file{"ro/f": {content: "x"}},
			wantDirs: map[string]file{"ro": {mode: 0o555 &^ umask}},
		},
		{
			name:    "directory over a file is a warning",
			args:    SCPArgs{Sink: true, Recursive: true, Paths: []string{"."}},
			setup:   map[string]string{"f": "file"},
			input:   "D0755 0 f\nC0644 1 ok\nx\x00",
			wantOut: "\x00\x01scp: ./f: Not a directory\n\x00\x00", wantCode: 1,
			want: map[string]file{"f": {content: "file"}, "ok": {content: "x"}},
		},
		{
			name:    "open failure is a warning and the next file still arrives",
			args:    SCPArgs{Sink: true, Paths: []string{"missing/x"}},
			input:   "C0644 1 x\n",
			wantOut: "\x00\x01scp: missing/x: No such file or directory\n", wantCode: 1,
		},
		{
			name:    "top-level E ends the session",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "E\nC0644 1 never\nx\x00",
			wantOut: "\x00\x00",
		},
		{
			name:    "client warning makes the status 1",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "\x01scp: gone: No such file or directory\nC0644 1 b\nb\x00",
			wantOut: "\x00\x00\x00", wantCode: 1,
			want: map[string]file{"b": {content: "b"}},
		},
		{
			name:    "client read error after data",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "C0644 1 a\nx\x01scp: a: Input/output error\n",
			wantOut: "\x00\x00\x00", wantCode: 1,
			want: map[string]file{"a": {content: "x"}},
		},
		{
			name:    "client fatal error",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "\x02scp: boom\nC0644 1 b\nb\x00",
			wantOut: "\x00", wantCode: 1,
		},
		{
			name:    "short data leaves the partial file",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "C0644 10 part\nhello",
			wantOut: "\x00\x00", wantCode: 1,
			want: map[string]file{"part": {content: "hello"}},
		},
		{
			name:    "cut-off control line",
			args:    SCPArgs{Sink: true, Paths: []string{"."}},
			input:   "C0644 10 pa",
			wantOut: "\x00", wantCode: 1,
		},
		{
			name:    "full disk",
			args:    SCPArgs{Sink: true, Paths: []string{"/dev/full"}},
			input:   "C0644 3 x\nabc\x00C0644 2 y\nde\x00",
			wantOut: "\x00\x00\x01scp: /dev/full: No space left on device\n\x00\x01scp: /dev/full: No space left on device\n", wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			// Runs before TempDir's removal: a case may leave a directory without u+w,
			// which only root could empty.
			t.Cleanup(func() {
				_ = filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
					if err == nil && d.IsDir() {
						_ = os.Chmod(p, 0o755)
					}
					return nil
				})
			})
			for name, content := range tt.setup {
				if err := os.WriteFile(filepath.Join(home, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := tt.args
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
			for name, want := range tt.want {
				path := filepath.Join(home, name)
				got, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("read %s: %v", name, err)
					continue
				}
				if string(got) != want.content {
					t.Errorf("%s: got content %q, want %q", name, got, want.content)
				}
				checkModeAndTime(t, path, want.mode, want.mtime)
			}
			for name, want := range tt.wantDirs {
				path := filepath.Join(home, name)
				if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
					t.Errorf("%s: got %v, %v; want a directory", name, fi, err)
					continue
				}
				checkModeAndTime(t, path, want.mode, want.mtime)
			}
		})
	}
}

func checkModeAndTime(t *testing.T, path string, mode fs.FileMode, mtime int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if mode != 0 && fi.Mode().Perm() != mode {
		t.Errorf("%s: got mode %04o, want %04o", path, fi.Mode().Perm(), mode)
	}
	if mtime != 0 && !fi.ModTime().Equal(time.Unix(mtime, 0)) {
		t.Errorf("%s: got mtime %v, want %v", path, fi.ModTime().Unix(), mtime)
	}
}

// TestServeSCPSinkRefuses: a malformed or hostile stream gets a fatal error and
// status 1, never a panic, and nothing is written outside the target.
func TestServeSCPSinkRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    SCPArgs
		input   string
		wantErr string // the fatal message after the initial 0 byte, without "\x02scp: " and "\n"
		noStart bool   // refused before the initial 0 byte
		acks    int    // 0 bytes expected after the initial one, before the error
	}{
		{name: "slash in name", input: "C0644 1 ../evil\nx\x00", wantErr: `error: unexpected filename: "../evil"`},
		{name: "absolute name", input: "C0644 1 /tmp/evil\nx\x00", wantErr: `error: unexpected filename: "/tmp/evil"`},
		{name: "dot dot", args: SCPArgs{Recursive: true}, input: "D0755 0 ..\nC0644 1 evil\nx\x00E\n", wantErr: `error: unexpected filename: ".."`},
		{name: "dot", input: "C0644 1 .\nx\x00", wantErr: `error: unexpected filename: "."`},
		{name: "empty name", input: "C0644 1 \nx\x00", wantErr: `error: unexpected filename: ""`},
		{name: "nul in name", input: "C0644 1 a\x00b\nx\x00", wantErr: `error: unexpected filename: "a\x00b"`},
		{name: "negative size", input: "C0644 -1 a\n", wantErr: "protocol error: size not present"},
		{name: "size too large", input: "C0644 99999999999999999999 a\n", wantErr: "protocol error: size out of range"},
		{name: "size not delimited", input: "C0644 12a a\n", wantErr: "protocol error: size not delimited"},
		{name: "no name", input: "C0644 12\n", wantErr: "protocol error: size not delimited"},
		{name: "bad mode digit", input: "C0684 1 a\n", wantErr: "protocol error: bad mode"},
		{name: "short mode", input: "C644 1 a\n", wantErr: "protocol error: bad mode"},
		{name: "mode not delimited", input: "C06440 1 a\n", wantErr: "protocol error: mode not delimited"},
		{name: "truncated header", input: "C06\n", wantErr: "protocol error: bad mode"},
		{name: "huge line", input: "C0644 1 " + strings.Repeat("x", 70000) + "\n", wantErr: "protocol error: line longer than 65536 bytes"},
		{name: "huge line without newline", input: strings.Repeat("x", 70000), wantErr: "protocol error: line longer than 65536 bytes"},
		{name: "garbage", input: "hello\n", wantErr: "protocol error: expected control record"},
		{name: "empty line", input: "\n", wantErr: "protocol error: expected control record"},
		{name: "garbage after a file", input: "C0644 1 a\nx\x00junk\n", acks: 2, wantErr: "protocol error: expected control record"},
		{name: "directory without -r", input: "D0755 0 d\n", wantErr: "protocol error: received directory without -r"},
		{name: "malformed E", args: SCPArgs{Recursive: true}, input: "D0755 0 d\nEx\n", acks: 1, wantErr: "protocol error: malformed E record"},
		{name: "T with three fields", input: "T1 0 2\n", wantErr: "protocol error: malformed T record"},
		{name: "T with a sign", input: "T-1 0 2 0\n", wantErr: "protocol error: malformed T record"},
		{name: "T microseconds out of range", input: "T1 1000000 2 0\n", wantErr: "protocol error: microseconds out of range"},
		{name: "ambiguous target", args: SCPArgs{Paths: []string{"a", "b"}}, input: "", wantErr: "ambiguous target", noStart: true},
		{name: "no target", args: SCPArgs{Paths: []string{}}, input: "", wantErr: "missing path operand", noStart: true},
		{name: "-d on a missing target", args: SCPArgs{TargetIsDir: true, Paths: []string{"nope"}}, wantErr: "nope: No such file or directory", noStart: true},
		{name: "-d on a file", args: SCPArgs{TargetIsDir: true, Paths: []string{"target/f"}}, wantErr: "target/f: Not a directory", noStart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			if err := os.Mkdir(filepath.Join(parent, "target"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(parent, "target", "f"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			args := tt.args
			args.Sink = true
			if args.Paths == nil {
				args.Paths = []string{"target"}
			}
			out, code := serveSCPForTest(t, args, parent, tt.input)
			want := strings.Repeat("\x00", 1+tt.acks) + "\x02scp: " + tt.wantErr + "\n"
			if tt.noStart {
				want = want[1:]
			}
			if out != want {
				t.Errorf("got output %q, want %q", out, want)
			}
			if code != 1 {
				t.Errorf("got exit status %d, want 1", code)
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "target" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("got %q beside the target, want only \"target\"", names)
			}
		})
	}
}
