package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOOMScoresAroundFork pins the order of writes (on a stand-in file; lowering the
// real score needs CAP_SYS_RESOURCE in the initial user namespace, see
// integration.TestAgentOOMScore): the agent lowers its score once; for each fork the
// score is the one it started with, and once the last of overlapping forks is done it is
// the lowered one again.
func TestOOMScoresAroundFork(t *testing.T) {
	path := filepath.Join(t.TempDir(), "oom_score_adj")
	if err := os.WriteFile(path, []byte("300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	score := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	o := &oomScores{path: path}
	o.protect(slog.New(slog.DiscardHandler))
	if got := score(); got != "-900" {
		t.Fatalf("after protect: %s, want -900", got)
	}
	end1, err := o.forkBegins()
	if err != nil {
		t.Fatal(err)
	}
	if got := score(); got != "300" {
		t.Errorf("during a fork: %s, want 300 (the score at start)", got)
	}
	end2, err := o.forkBegins() // a second fork overlaps the first
	if err != nil {
		t.Fatal(err)
	}
	end1()
	if got := score(); got != "300" {
		t.Errorf("one of two overlapping forks ended: %s, want still 300", got)
	}
	end2()
	if got := score(); got != "-900" {
		t.Errorf("after the forks: %s, want -900", got)
	}

	// Already lower than the agent's own choice (a Guaranteed Kubernetes pod, -997):
	// nothing changes, and forks leave it alone.
	if err := os.WriteFile(path, []byte("-997\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	low := &oomScores{path: path}
	low.protect(slog.New(slog.DiscardHandler))
	end, err := low.forkBegins()
	if err != nil {
		t.Fatal(err)
	}
	if got := score(); got != "-997" {
		t.Errorf("already low, during a fork: %s, want -997 untouched", got)
	}
	end()
}
