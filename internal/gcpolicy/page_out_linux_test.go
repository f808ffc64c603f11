package gcpolicy

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// executableRSSKiB sums the resident memory of the read-only mappings of this test
// binary's own file (/proc/self/smaps): its code and read-only data, what the page-out
// acts on. It leaves out the file's writable data (private, written pages that the
// page-out leaves alone: about half of the figure in a race-detector build, where
// counting it made the test's "at most half" bound fail by a few KiB) and shared
// libraries (the race detector's build links libc), whose pages other processes map
// too.
func executableRSSKiB(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	total, inExe := 0, false
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			inExe = len(f) == 6 && f[5] == exe && !strings.Contains(f[1], "w") // a mapping's header line
		case inExe && len(f) == 3 && f[0] == "Rss:":
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("Rss %q: %v", line, err)
			}
			total += n
		}
	}
	return total
}

// TestPageOutExecutableShrinksResidentCode: the test binary's code and read-only data
// are mostly resident after the tests' start; paged out, their resident memory falls
// to what the test itself faults back in before it measures.
// Not parallel: other tests running would fault code back in.
func TestPageOutExecutableShrinksResidentCode(t *testing.T) {
	before := executableRSSKiB(t)
	n, err := pageOutExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after := executableRSSKiB(t)
	t.Logf("paged out %d bytes of mappings: the executable's resident %d KiB -> %d KiB", n, before, after)
	if n == 0 {
		t.Fatalf("no read-only mapping of the executable found in /proc/self/maps")
	}
	if after > before/2 {
		t.Errorf("the executable's mappings keep %d KiB resident after the page-out, want at most half the %d KiB before", after, before)
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
