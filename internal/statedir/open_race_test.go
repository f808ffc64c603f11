package statedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobsshd/internal/testenv"
)

// raceSetup makes a state directory in a parent that others can write (an fsGroup
// volume), and a root-owned directory that Check alone would accept (/etc/ssh stands
// in), and returns the state path and that victim.
func raceSetup(t *testing.T) (state, victim string) {
	t.Helper()
	testenv.RequireRoot(t, "the swapped-in symlink must belong to another uid")
	base := t.TempDir()
	vol := mkdir(t, base, "vol", 0o777)
	state = mkdir(t, vol, "state", 0o700)
	victim = mkdir(t, base, "victim", 0o700)
	return state, victim
}

// swapInSymlink replaces the directory at state by a symlink to victim that belongs to
// uid 65534, as that uid could in a parent it may write.
func swapInSymlink(t *testing.T, state, victim string) {
	t.Helper()
	if err := os.Rename(state, state+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, state); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesSymlinkSwappedBeforeOpen: a symlink swapped in at the state directory
// after the checks and before os.OpenRoot (which follows it) is refused, and nothing is
// opened for writing in the directory it points to (issue 10 review, files 2).
func TestOpenRefusesSymlinkSwappedBeforeOpen(t *testing.T) {
	state, victim := raceSetup(t)
	d, err := open(state, 0, raceHooks{beforeOpen: func() { swapInSymlink(t, state, victim) }})
	if err == nil {
		d.Root.Close() // read-only handle
		t.Fatalf("opened %s through another uid's symlink to %s, want it refused", state, victim)
	}
	if !IsUnsafe(err) || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("got %v, want an UnsafeError naming the symlink's owner", err)
	}
}

// TestOpenRefusesParentSwappedBeforeOpen: the same with a parent directory of the state
// directory swapped for a symlink (to a directory holding a root-owned "state").
func TestOpenRefusesParentSwappedBeforeOpen(t *testing.T) {
	state, victim := raceSetup(t)
	mkdir(t, victim, "state", 0o700)
	vol := filepath.Dir(state)
	outer := mkdir(t, filepath.Dir(vol), "outer", 0o777)
	inner := filepath.Join(outer, "vol")
	if err := os.Rename(vol, inner); err != nil {
		t.Fatal(err)
	}
	state = filepath.Join(inner, "state")
	_, err := open(state, 0, raceHooks{beforeOpen: func() { swapInSymlink(t, inner, victim) }})
	if !IsUnsafe(err) || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("got %v, want an UnsafeError naming the symlink's owner", err)
	}
}

// TestSameAsWalkRefusesAnotherDirectory: a directory that was opened but is not the
// one the path leads to now (a symlink swapped in for the open and back out before the
// walk) is refused by its device and inode.
func TestSameAsWalkRefusesAnotherDirectory(t *testing.T) {
	state, victim := raceSetup(t)
	opened, err := os.Stat(victim) // what OpenRoot would have opened through the symlink
	if err != nil {
		t.Fatal(err)
	}
	err = sameAsWalk(state, opened, 0)
	if !IsUnsafe(err) || !strings.Contains(err.Error(), "changed while jobsshd opened it") {
		t.Errorf("got %v, want an UnsafeError saying the directory changed", err)
	}
	own, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameAsWalk(state, own, 0); err != nil {
		t.Errorf("the state directory itself: got %v, want it accepted", err)
	}
}

// TestOpenFollowsOwnSymlink: a symlink of root's (or of euid's) on the path is still
// followed, after the open as before it.
func TestOpenFollowsOwnSymlink(t *testing.T) {
	state, victim := raceSetup(t)
	link := filepath.Join(filepath.Dir(victim), "rootlink")
	if err := os.Symlink(state, link); err != nil {
		t.Fatal(err)
	}
	d, err := Open(filepath.Join(link, "."), 0)
	if err != nil {
		t.Fatalf("open through root's symlink: %v", err)
	}
	d.Root.Close() // read-only handle
}

// TestOpenRefusesSymlinkSwappedBeforeMkdir: a parent of a state directory that does not
// exist yet, swapped for another uid's symlink after the check and before the missing
// directory is made, is refused, and no directory is made where it points.
func TestOpenRefusesSymlinkSwappedBeforeMkdir(t *testing.T) {
	_, victim := raceSetup(t)
	vol := mkdir(t, filepath.Dir(victim), "vol2", 0o777)
	state := filepath.Join(vol, "new", "state") // "new" is missing too
	_, err := open(state, 0, raceHooks{beforeMkdir: func() { swapInSymlink(t, vol, victim) }})
	if !IsUnsafe(err) || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("got %v, want an UnsafeError naming the symlink's owner", err)
	}
	if entries, _ := os.ReadDir(victim); len(entries) != 0 {
		t.Errorf("got %d entries made in the directory the symlink points to, want none", len(entries))
	}
}
