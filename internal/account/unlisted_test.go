package account

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestUnlisted(t *testing.T) {
	t.Parallel()
	own := t.TempDir() // the test's own: stands for a home the uid owns
	file := filepath.Join(own, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	uid := uint32(os.Getuid())
	other := uid + 1 // a uid that owns nothing here
	never := func(string) bool { return false }
	always := func(string) bool { return true }
	tests := []struct {
		name      string
		user      string
		self      Self
		wantHome  string
		wantShell string
		wantErr   string
	}{
		{name: "home and shell from the environment", user: "jovyan",
			self: Self{UID: uid, Home: own, Shell: "/bin/bash", CanWrite: never}, wantHome: own, wantShell: "/bin/bash"},
		{name: "no HOME: the working directory", user: "1000680000",
			self: Self{UID: uid, Wd: own, CanWrite: never}, wantHome: own, wantShell: "/bin/sh"},
		{name: "relative HOME: the working directory", user: "u",
			self: Self{UID: uid, Home: "home", Wd: own, Shell: "bash", CanWrite: never}, wantHome: own, wantShell: "/bin/sh"},
		{name: "a home of another uid it may write", user: "u",
			self: Self{UID: other, Home: own, CanWrite: always}, wantHome: own, wantShell: "/bin/sh"},
		{name: "a home of another uid it may not write", user: "u",
			self: Self{UID: other, Home: own, CanWrite: never}, wantErr: "neither its own nor writable by it: set HOME"},
		{name: "a missing home", user: "u",
			self: Self{UID: uid, Home: filepath.Join(own, "none")}, wantErr: "set HOME to a directory"},
		{name: "a file as home", user: "u",
			self: Self{UID: uid, Home: file}, wantErr: "is not a directory: set HOME"},
		{name: "no home at all", user: "u",
			self: Self{UID: uid}, wantErr: "no home"},
		{name: "a name with a colon", user: "a:b",
			self: Self{UID: uid, Home: own}, wantErr: "pass --user with a name"},
		{name: "an empty name", user: "",
			self: Self{UID: uid, Home: own}, wantErr: "pass --user with a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Unlisted(tt.user, tt.self)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Name != tt.user || a.UID != tt.self.UID || a.Home != tt.wantHome || a.Shell != tt.wantShell || a.Unlisted == "" {
				t.Errorf("got %+v, want %s, uid %d, home %s, shell %s, with a note", a, tt.user, tt.self.UID, tt.wantHome, tt.wantShell)
			}
		})
	}
}

func TestUnlistedGroups(t *testing.T) {
	t.Parallel()
	a, err := Unlisted("u", Self{UID: 1000680000, GID: 0, Groups: []uint32{0, 5, 0}, Home: t.TempDir(), CanWrite: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{0, 5}; !slices.Equal(a.Groups, want) || a.GID != 0 {
		t.Errorf("gid %d, groups %v; want gid 0, groups %v", a.GID, a.Groups, want)
	}
}

// TestLookupFor: only an agent that is not root, with a uid the passwd file does not
// list, serves itself under another name; root still needs a real account, a listed uid
// is told its name, and a listed name is the database's account. The database is the
// fixture in testdata/, so every case runs on any machine.
func TestLookupFor(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	self := func() Self { return Self{UID: 4000000001, Home: home, CanWrite: func(string) bool { return true }} }
	const missing = "no-such-account-for-jobsshd-tests"
	lookup := func(euid int) LookupFunc { return lookupForIn("testdata/passwd", "testdata/group", euid, self) }
	if _, err := lookup(0)(missing); !errors.Is(err, ErrNoAccount) {
		t.Errorf("as root: got %v, want ErrNoAccount", err)
	}
	a, err := lookup(4000000001)(missing)
	if err != nil || a.UID != 4000000001 || a.Name != missing || a.Home != home || a.Unlisted == "" {
		t.Errorf("as an unlisted uid: got %+v, %v; want the process's own account under %q", a, err, missing)
	}
	// testdata/passwd lists uid 1000 as work.
	_, err = lookup(1000)(missing)
	var advised *AdvisedError
	if !errors.As(err, &advised) || !errors.Is(err, ErrNoAccount) || !strings.Contains(err.Error(), "pass --user work") {
		t.Errorf("as listed uid 1000: got %v, want ErrNoAccount with the advice to pass --user work", err)
	}
	a, err = lookup(1000)("ma-user")
	if err != nil || a.UID != 1001 || a.Home != "/home/ma-user" || a.Unlisted != "" {
		t.Errorf("a listed name: got %+v, %v; want ma-user (uid 1001, /home/ma-user) from the passwd file", a, err)
	}
}

// TestLookupWithoutPasswdFile: an image without /etc/passwd lists no one; that is "no
// such account", which an agent that is not root answers by serving itself.
func TestLookupWithoutPasswdFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := lookupIn(filepath.Join(dir, "passwd"), filepath.Join(dir, "group"), "jovyan")
	if !errors.Is(err, ErrNoAccount) {
		t.Errorf("got %v, want ErrNoAccount", err)
	}
}
