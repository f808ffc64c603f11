package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPSFTPBatch: PuTTY's psftp, with id_container.ppk and the host key pinned, puts and
// gets a file, makes a directory and lists it.
func TestPSFTPBatch(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	orig := filepath.Join(local, "orig.bin")
	writeRandomFile(t, orig, 2<<20+3, 3, 0o644)
	res := a.psftp(t, strings.Join([]string{
		"cd " + rel,
		"mkdir made",
		"put " + orig + " made/up.bin",
		"get made/up.bin " + filepath.Join(local, "down.bin"),
		"ls made",
		"",
	}, "\n"))
	if res.ExitCode != 0 {
		t.Fatalf("psftp -b: %s, want exit 0", res)
	}
	requireSameContent(t, orig, filepath.Join(abs, "made", "up.bin"))
	requireSameContent(t, orig, filepath.Join(local, "down.bin"))
	if !strings.Contains(res.Stdout, "up.bin") {
		t.Errorf("psftp ls made does not list up.bin:\n%s", res.Stdout)
	}
	requireOwnedBy(t, abs, a.Account)
}

// TestPSCP: PuTTY's pscp uploads and downloads files and trees over SFTP (-sftp) and
// over the legacy scp protocol (-scp, served by jobsshd's built-in scp).
func TestPSCP(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	for _, proto := range []string{"-sftp", "-scp"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			mustPSCP := func(t *testing.T, args ...string) {
				t.Helper()
				if res := a.pscp(t, append([]string{proto}, args...)...); res.ExitCode != 0 {
					t.Fatalf("pscp %s %s: %s, want exit 0", proto, strings.Join(args, " "), res)
				}
			}
			rel, abs := userDir(t, a.Account)
			local := t.TempDir()
			orig := filepath.Join(local, "orig.bin")
			writeRandomFile(t, orig, 2<<20+9, 4, 0o644)
			mustPSCP(t, orig, a.remote(rel+"/up.bin"))
			requireSameContent(t, orig, filepath.Join(abs, "up.bin"))
			mustPSCP(t, a.remote(rel+"/up.bin"), filepath.Join(local, "down.bin"))
			requireSameContent(t, orig, filepath.Join(local, "down.bin"))

			tree := filepath.Join(local, "tree")
			if err := os.Mkdir(tree, 0o755); err != nil {
				t.Fatal(err)
			}
			writeSampleTree(t, tree)
			mustPSCP(t, "-r", tree, a.remote(rel))
			requireSameTree(t, tree, filepath.Join(abs, "tree"), false)
			back := filepath.Join(local, "back")
			if err := os.Mkdir(back, 0o755); err != nil {
				t.Fatal(err)
			}
			mustPSCP(t, "-r", a.remote(rel+"/tree"), back)
			requireSameTree(t, tree, filepath.Join(back, "tree"), false)

			if res := a.pscp(t, proto, a.remote(rel+"/missing.bin"), filepath.Join(local, "missing.bin")); res.ExitCode == 0 {
				t.Errorf("pscp %s of a missing remote file: %s, want a non-zero exit", proto, res)
			}
			requireOwnedBy(t, abs, a.Account)
		})
	}
}
