package sftpd

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSCPSink feeds arbitrary client streams to the sink: it must never panic, must
// answer only with well-formed status bytes, and must create nothing outside its
// target directory. Seeds are the client streams in testdata/scp.
func FuzzSCPSink(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "scp", "*.scp"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/scp: %v", err)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for flags := range uint8(8) {
			f.Add(b, flags)
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, flags uint8) {
		parent := t.TempDir()
		target := filepath.Join(parent, "target")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		// Leave everything removable for t.TempDir's cleanup, whatever modes the
		// stream asked for.
		t.Cleanup(func() { makeWritable(t, parent) })
		args := SCPArgs{
			Sink:          true,
			Recursive:     flags&1 != 0,
			PreserveTimes: flags&2 != 0,
			TargetIsDir:   flags&4 != 0,
			Paths:         []string{"target"},
		}
		var out bytes.Buffer
		code := ServeSCP(args, parent, bytes.NewReader(stream), &out, io.Discard, Options{})
		if code != 0 && code != 1 {
			t.Errorf("got exit status %d, want 0 or 1", code)
		}
		checkStatusStream(t, out.Bytes())
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "target" || !entries[0].IsDir() {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("got %q in the parent, want only the directory \"target\"", names)
		}
	})
}

// checkStatusStream checks that a sink's output is status bytes: 0, or 1 with a message
// line, and at most one fatal 2 with a message line, at the end.
func checkStatusStream(t *testing.T, out []byte) {
	t.Helper()
	for len(out) > 0 {
		switch out[0] {
		case 0:
			out = out[1:]
			continue
		case 1, 2:
			end := bytes.IndexByte(out, '\n')
			if end < 0 {
				t.Fatalf("got an unterminated message %q", out)
			}
			if out[0] == 2 && end != len(out)-1 {
				t.Fatalf("got %q after a fatal error", out[end+1:])
			}
			out = out[end+1:]
		default:
			t.Fatalf("got status byte %#x, want 0, 1 or 2", out[0])
		}
	}
}

// makeWritable gives every directory under root u+rwx. WalkDir calls fn for a
// directory before reading it, so the chmod comes first.
func makeWritable(t *testing.T, root string) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(path, 0o700)
	})
	if err != nil {
		t.Errorf("make %s removable: %v", root, err)
	}
}
