package gcpolicy

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFileKiB reads this process's resident file-backed memory.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("RssFile %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestPageOutExecutableShrinksResidentCode: the test binary's code and read-only data
// are mostly resident after the tests' start; paged out, the file-backed RSS falls.
// Not parallel: other tests running would fault code back in.
func TestPageOutExecutableShrinksResidentCode(t *testing.T) {
	before := rssFileKiB(t)
	n, err := pageOutExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	t.Logf("paged out %d bytes of mappings: RssFile %d KiB -> %d KiB", n, before, after)
	if n == 0 {
		t.Fatalf("no read-only mapping of the executable found in /proc/self/maps")
	}
	if after > before/2 {
		t.Errorf("RssFile %d KiB after the page-out, want at most half the %d KiB before", after, before)
	}
}

func TestReadOnlyMappingOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{"00400000-00857000 r-xp 00000000 fe:00 10129668 /usr/bin/jobsshd", true},
		{"00857000-00d51000 r--p 00457000 fe:00 10129668 /usr/bin/jobsshd", true},
		{"00d51000-00da5000 rw-p 00951000 fe:00 10129668 /usr/bin/jobsshd", false}, // its data
		{"00400000-00857000 r-xp 00000000 fe:00 10129668 /usr/bin/other", false},
		{"7ffe50804000-7ffe50825000 rw-p 00000000 00:00 0 [stack]", false},
		{"00857000-00400000 r--p 00457000 fe:00 10129668 /usr/bin/jobsshd", false},
		{"00400000-00857000 r-xp 00000000 fe:00 10129668 /usr/bin/jobsshd (deleted)", false},
	} {
		_, _, ok := readOnlyMappingOf([]byte(c.line), "/usr/bin/jobsshd")
		if ok != c.ok {
			t.Errorf("%q: %v, want %v", c.line, ok, c.ok)
		}
	}
}
