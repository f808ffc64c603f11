package jobtrust

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testClientFiles(t *testing.T) ClientFiles {
	t.Helper()
	id, err := FromSecret(Secret("client-files-secret-01"))
	if err != nil {
		t.Fatal(err)
	}
	return ClientFiles{SSHDir: filepath.Join(t.TempDir(), ".ssh"), Hosts: []string{"w-0", "w-1", "10.9.0.3"},
		Port: 2222, User: "ma-user", HostKey: id.HostKey.PublicKey(), KeyData: id.UserKeyFile}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestClientFilesWrite(t *testing.T) {
	t.Parallel()
	c := testClientFiles(t)
	if err := os.Mkdir(c.SSHDir, 0o700); err != nil {
		t.Fatal(err)
	}
	config, known, key := filepath.Join(c.SSHDir, "config"), filepath.Join(c.SSHDir, "known_hosts"), filepath.Join(c.SSHDir, JobKeyFileName)
	const userConfig = "StrictHostKeyChecking no\nHost laptop\n    Port 2200\n"
	const userKnown = "laptop ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuKnr5GjoTaTnp6sL1qDGeF5MJbqz7yHEWOmSPWv+Bg"
	if err := os.WriteFile(config, []byte(userConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(known, []byte(userKnown), 0o600); err != nil {
		t.Fatal(err)
	}

	changed, err := c.Write()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{key, config, known}; !slices.Equal(changed, want) {
		t.Errorf("first write changed %q, want %q", changed, want)
	}
	gotConfig, gotKnown := readFile(t, config), readFile(t, known)
	for _, want := range []string{beginMarker + "\n", "Host w-0 w-1 10.9.0.3\n", "    User ma-user\n", "    Port 2222\n",
		"    IdentityFile \"" + key + "\"\n", "    IdentitiesOnly yes\n", "    StrictHostKeyChecking yes\n", "Host *\n" + endMarker + "\n" + userConfig} {
		if !strings.Contains(gotConfig, want) {
			t.Errorf("config lacks %q:\n%s", want, gotConfig)
		}
	}
	if !strings.HasPrefix(gotConfig, beginMarker) {
		t.Errorf("config block is not first:\n%s", gotConfig)
	}
	hostKeyLine := "[w-0]:2222,[w-1]:2222,[10.9.0.3]:2222 ssh-ed25519 "
	if !strings.HasPrefix(gotKnown, userKnown+"\n"+beginMarker+"\n"+hostKeyLine) || !strings.HasSuffix(gotKnown, endMarker+"\n") {
		t.Errorf("known_hosts is not the user's line then the block:\n%s", gotKnown)
	}
	if string(readFile(t, key)) != string(c.KeyData) {
		t.Error("key file does not hold the job key")
	}
	for path, want := range map[string]fs.FileMode{key: 0o600, config: 0o644, known: 0o600} {
		if got := modeOf(t, path); got != want {
			t.Errorf("%s: got mode %04o, want %04o", path, got, want)
		}
	}

	// A restart: same content, marshalled again (the OpenSSH format has random check
	// bytes), must leave every file as it is.
	id, err := FromSecret(Secret("client-files-secret-01"))
	if err != nil {
		t.Fatal(err)
	}
	c.KeyData = id.UserKeyFile
	before := []string{readFile(t, key), readFile(t, config), readFile(t, known)}
	changed, err = c.Write()
	if err != nil || changed != nil {
		t.Errorf("second write changed %q (%v), want nothing", changed, err)
	}
	if after := []string{readFile(t, key), readFile(t, config), readFile(t, known)}; !slices.Equal(before, after) {
		t.Error("files changed on the second write")
	}

	// Another port replaces the block in place.
	c.Port = 22
	if _, err := c.Write(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, known); !strings.Contains(got, "\nw-0,w-1,10.9.0.3 ssh-ed25519 ") || strings.Count(got, beginMarker) != 1 {
		t.Errorf("port 22 block:\n%s", got)
	}
}

func TestClientFilesKeyInSSHDir(t *testing.T) {
	t.Parallel()
	c := testClientFiles(t)
	c.KeyFile = filepath.Join(c.SSHDir, "id_rsa")
	if _, err := c.Write(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(c.SSHDir, JobKeyFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wrote %s although the job key is in ~/.ssh (%v)", JobKeyFileName, err)
	}
	if got := readFile(t, filepath.Join(c.SSHDir, "config")); !strings.Contains(got, `IdentityFile "`+c.KeyFile+`"`) {
		t.Errorf("config does not name the job key file:\n%s", got)
	}
	if got := modeOf(t, c.SSHDir); got != 0o700 {
		t.Errorf("created ~/.ssh with mode %04o, want 0700", got)
	}
}

func TestClientFilesFollowSymlink(t *testing.T) {
	t.Parallel()
	c := testClientFiles(t)
	dotfiles := t.TempDir()
	if err := os.Mkdir(c.SSHDir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dotfiles, "ssh_config")
	if err := os.WriteFile(target, []byte("Host x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(c.SSHDir, "config")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("~/.ssh/config is no longer a symlink (%v)", err)
	}
	if got := readFile(t, target); !strings.Contains(got, beginMarker) || !strings.HasSuffix(got, "Host x\n") {
		t.Errorf("link target:\n%s", got)
	}
}

// TestClientFilesReadOnly is Volcano's case: ~/.ssh is a read-only Secret mount.
func TestClientFilesReadOnly(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root writes into a 0500 directory; the integration test covers a read-only mount")
	}
	c := testClientFiles(t)
	if err := os.Mkdir(c.SSHDir, 0o500); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(); err == nil || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("got %v, want a permission error", err)
	}
}
