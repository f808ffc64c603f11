package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRsync: `rsync -a -e ssh` sends a tree up and fetches it back. The server side is
// the machine's rsync, run through the user's shell by an ordinary exec request.
func TestRsync(t *testing.T) {
	t.Parallel()
	requireTool(t, "rsync", "rsync")
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	tree := filepath.Join(local, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSampleTree(t, tree)
	// rsync splits -e on spaces; the options hold none.
	rsh := "ssh " + strings.Join(hermeticSSHOptions(a.IDFile, a.Port), " ")
	rsync := func(t *testing.T, src, dst string) {
		t.Helper()
		res := runClient(t, clientRun{Name: "rsync", Package: "rsync", Args: []string{"-a", "-e", rsh, src, dst}})
		if res.ExitCode != 0 {
			t.Fatalf("rsync -a %s %s: %s, want exit 0", src, dst, res)
		}
	}
	rsync(t, tree+"/", a.remote(rel+"/up/"))
	requireSameTree(t, tree, filepath.Join(abs, "up"), true)
	// -a keeps owners only when the receiver is root: the user's rsync cannot, so the
	// copy is the user's even though the originals are root's.
	requireOwnedBy(t, filepath.Join(abs, "up"), a.Account)

	// A second run sends only what changed.
	writeFile(t, filepath.Join(tree, "top.txt"), "changed\n", 0o644)
	rsync(t, tree+"/", a.remote(rel+"/up/"))
	requireSameTree(t, tree, filepath.Join(abs, "up"), true)

	back := filepath.Join(local, "back")
	rsync(t, a.remote(rel+"/up/"), back+"/")
	requireSameTree(t, tree, back, true)
}
