package account

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// TestIDNames pins the reader the SFTP server's long names use: comments and blank
// lines skipped, the first entry of an id winning, unparsable ids ignored.
func TestIDNames(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passwd")
	data := "# comment:x:7:7\n\nroot:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nwork:x:1000:1000\nbad:x:nan:1\nshort:x\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	got := IDNames(path)
	want := map[uint32]string{0: "root", 1000: "work"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := IDNames(filepath.Join(t.TempDir(), "missing")); len(got) != 0 {
		t.Errorf("missing file: got %v, want no names", got)
	}
}
