package doctor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testenv"
)

// userKeyTest is a case of TestCheckUserKey: setup creates (or not) id_container at
// path.
type userKeyTest struct {
	name       string
	setup      func(t *testing.T, path string)
	wantUsable bool
	wantSub    string
	wantSev    Severity
	wantFix    string
}

// userKeyTests are TestCheckUserKey's cases, with priv and pub a key pair and otherPub
// another key.
func userKeyTests(priv []byte, pub, otherPub ssh.PublicKey) []userKeyTest {
	return []userKeyTest{
		{name: "missing", setup: func(t *testing.T, path string) {}, wantUsable: true,
			wantSub: "creates it (with .pub and .ppk)", wantSev: Info},
		{name: "directory missing", setup: func(t *testing.T, path string) {
			if err := os.Remove(filepath.Dir(path)); err != nil {
				t.Fatal(err)
			}
		}, wantSub: "starts without id_container", wantSev: Warn, wantFix: "--id-file"},
		{name: "fine", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o600)
			writeFile(t, path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644)
		}, wantUsable: true, wantSub: "owner and mode 0600 fine", wantSev: OK},
		// As keys.EnsureUserKey (issue 10 review, files 1): a key others may read logs
		// in, with a warning; one the agent refuses means no id_container, a warning,
		// never a failure, since the agent serves the other keys.
		{name: "group-readable", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o640)
		}, wantUsable: true, wantSub: "may be read by group or others (mode 0640)", wantSev: Warn, wantFix: "chmod 600 "},
		{name: "world-readable", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o644)
		}, wantUsable: true, wantSub: "may be read by group or others (mode 0644)", wantSev: Warn, wantFix: "chmod 600 "},
		{name: "writable by others", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o666)
		}, wantSub: "may be written by group or others (mode 0666)", wantSev: Warn, wantFix: "chmod 600 "},
		{name: "symlink", setup: func(t *testing.T, path string) {
			writeFile(t, path+".real", priv, 0o600)
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}, wantSub: "is a symlink", wantSev: Warn, wantFix: "rm "},
		{name: "fifo", setup: func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantSub: "is not a regular file", wantSev: Warn, wantFix: "rm "},
		{name: "does not parse", setup: func(t *testing.T, path string) {
			writeFile(t, path, []byte("not a key\n"), 0o600)
		}, wantSub: "does not parse", wantSev: Warn, wantFix: "mv "},
		{name: "stale .pub", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o600)
			writeFile(t, path+".pub", ssh.MarshalAuthorizedKey(otherPub), 0o644)
		}, wantUsable: true, wantSub: "a key that does not log in", wantSev: Warn, wantFix: "rm "},
		{name: ".ppk symlink", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o600)
			if err := os.Symlink("/etc/passwd", path+".ppk"); err != nil {
				t.Fatal(err)
			}
		}, wantUsable: true, wantSub: ".ppk is a symlink", wantSev: Warn, wantFix: "rm "},
		{name: ".pub a directory", setup: func(t *testing.T, path string) {
			writeFile(t, path, priv, 0o600)
			if err := os.Mkdir(path+".pub", 0o700); err != nil {
				t.Fatal(err)
			}
		}, wantUsable: true, wantSub: ".pub is not a regular file", wantSev: Warn, wantFix: "rm "},
	}
}

func TestCheckUserKey(t *testing.T) {
	priv, pub := newKey(t)
	_, otherPub := newKey(t)
	tests := userKeyTests(priv, pub, otherPub)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := selfAccount(t)
			path := filepath.Join(a.Home, "keys", "id_container")
			if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, path)
			r := &Report{}
			if got := checkUserKey(r, a, path); got != tt.wantUsable {
				t.Errorf("usable: got %v, want %v; findings:\n%s", got, tt.wantUsable, dump(r))
			}
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
		})
	}
}

// TestCheckUserKeyOwner: a key that belongs to another uid is refused (as the agent's
// userKeyCheck does): no id_container, a warning. Needs root to give the file away.
func TestCheckUserKeyOwner(t *testing.T) {
	testenv.RequireRoot(t, "to chown a file to another uid")
	priv, _ := newKey(t)
	a := selfAccount(t)
	path := filepath.Join(a.Home, "id_container")
	writeFile(t, path, priv, 0o600)
	if err := os.Chown(path, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	r := &Report{}
	if checkUserKey(r, a, path) {
		t.Errorf("usable: got true for a key of uid 54321, want false")
	}
	want(t, r, only(t, r, "belongs to uid 54321"), Warn, "chown 0:0 "+path)
}
