package web

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestChmodSocketFollowsNoSymlink: a socket swapped for a symlink after the bind
// (possible in a directory the account can write) must not make the agent change the
// mode of the file it points to, e.g. /etc/shadow.
func TestChmodSocketFollowsNoSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "shadow")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "web.sock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := chmodSocket(link); err == nil {
		t.Error("chmodSocket on a symlink succeeded, want an error")
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the symlink's target: got %v, %v; want it left 0600", fi.Mode(), err)
	}
}

// TestChmodSocketMakesSocket0660: the socket itself gets 0660.
func TestChmodSocketMakesSocket0660(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := chmodSocket(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o660 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("got %v, %v; want a socket with mode 0660", fi.Mode(), err)
	}
}
