package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// strictModesTree is what one TestCheckStrictModes case works on. Each case starts from
// base/home/.ssh/authorized_keys: base root's 0755, home and .ssh the account's 0700, the
// file the account's 0600.
type strictModesTree struct {
	t              *testing.T
	base, home     string
	ssh, file      string
	uid, gid       int
	otherUID       int
	gids           []int
	homeParam      string // home passed to CheckStrictModes; defaults to home
	pathParam      string // path passed to CheckStrictModes; defaults to file
	accountGroupOf int    // a gid in gids besides the primary one
}

// strictModesTests are TestCheckStrictModes's cases: a change to the tree and the message
// CheckStrictModes then gives ("" when it accepts the file).
var strictModesTests = []struct {
	name      string
	needsRoot bool
	setup     func(tr *strictModesTree)
	wantMsg   string // "" means accepted
}{
	{name: "file 0600", setup: func(tr *strictModesTree) {}},
	{name: "file 0644", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o644) }},
	{name: "file 0640", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o640) }},
	{name: "file 0400", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o400) }},
	{name: "file 0664", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o664) },
		wantMsg: "is writable by group or others (mode 0664): chmod go-w "},
	{name: "file 0666", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o666) },
		wantMsg: "is writable by group or others (mode 0666): chmod go-w "},
	{name: "file 0602", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o602) },
		wantMsg: "writable by group or others (mode 0602)"},
	{name: "file not readable by its owner", setup: func(tr *strictModesTree) { chmod(tr.t, tr.file, 0o200) },
		wantMsg: "is not readable by uid"},
	{name: "file owned by root 0644", needsRoot: true, setup: func(tr *strictModesTree) { chown(tr.t, tr.file, 0, 0); chmod(tr.t, tr.file, 0o644) }},
	{name: "file owned by root 0600", needsRoot: true, setup: func(tr *strictModesTree) { chown(tr.t, tr.file, 0, 0) },
		wantMsg: "is not readable by uid 4242"},
	{name: "file owned by another uid", needsRoot: true, setup: func(tr *strictModesTree) { chown(tr.t, tr.file, tr.otherUID, tr.gid) },
		wantMsg: "is owned by uid 4244, not by uid 4242 or root: chown 4242 "},
	{name: ".ssh 0755", setup: func(tr *strictModesTree) { chmod(tr.t, tr.ssh, 0o755) }},
	{name: ".ssh 0750", setup: func(tr *strictModesTree) { chmod(tr.t, tr.ssh, 0o750) }},
	{name: ".ssh 0775", setup: func(tr *strictModesTree) { chmod(tr.t, tr.ssh, 0o775) },
		wantMsg: `directory "` + "<ssh>" + `" is writable by group or others (mode 0775): chmod go-w `},
	{name: ".ssh 1777", setup: func(tr *strictModesTree) { chmod(tr.t, tr.ssh, os.ModeSticky|0o777) },
		wantMsg: "writable by group or others (mode 1777)"},
	{name: ".ssh owned by another uid", needsRoot: true, setup: func(tr *strictModesTree) { chown(tr.t, tr.ssh, tr.otherUID, tr.gid) },
		wantMsg: "is owned by uid 4244"},
	{name: ".ssh not searchable by the account", needsRoot: true, setup: func(tr *strictModesTree) { chmod(tr.t, tr.ssh, 0o600) },
		wantMsg: "is not searchable by uid"},
	{name: "home 0755", setup: func(tr *strictModesTree) { chmod(tr.t, tr.home, 0o755) }},
	{name: "home 0777", setup: func(tr *strictModesTree) { chmod(tr.t, tr.home, 0o777) },
		wantMsg: `directory "<home>" is writable by group or others (mode 0777)`},
	{name: "home 0775", setup: func(tr *strictModesTree) { chmod(tr.t, tr.home, 0o775) },
		wantMsg: "writable by group or others (mode 0775): chmod go-w <home>"},
	// OpenShift's usual home: made in the image, root's, group 0 with write permission
	// for whatever uid the platform picks. Refused, as OpenSSH refuses it (Debian's
	// exception for a group whose only member is the owner does not apply: root is in
	// group 0); the uid cannot chmod it, so the message says who can and what else works.
	{name: "home of root group-writable for OpenShift", needsRoot: true, setup: func(tr *strictModesTree) {
		chown(tr.t, tr.home, 0, 0)
		chmod(tr.t, tr.home, 0o775)
		tr.gids = append(tr.gids, 0)
	}, wantMsg: `directory "<home>" is writable by group or others (mode 0775): chmod go-w <home> as its owner, uid 0, which uid 4242 is not (in the image, a RUN line), or pass the keys in JOBSSHD_AUTHORIZED_KEYS, or log in with the id_container key`},
	// safe_path stops at the home directory: what is above it is the system's.
	{name: "above home not checked for modes", setup: func(tr *strictModesTree) { chmod(tr.t, tr.base, 0o777) }},
	{name: "above home not searchable", needsRoot: true, setup: func(tr *strictModesTree) { chmod(tr.t, tr.base, 0o700) },
		wantMsg: "is not searchable by uid 4242"},
	{name: "home given through a symlink", setup: func(tr *strictModesTree) {
		link := filepath.Join(tr.base, "home-link")
		if err := os.Symlink(tr.home, link); err != nil {
			tr.t.Fatal(err)
		}
		tr.homeParam = link
	}},
	{name: "no home: walk to / and meet sticky /tmp", setup: func(tr *strictModesTree) { tr.homeParam = "/nonexistent-home" },
		wantMsg: "writable by group or others (mode 1777)"},
	{name: "symlink to the account's file in home", setup: func(tr *strictModesTree) {
		keysDir := filepath.Join(tr.home, "keys")
		mkdirOwned(tr.t, keysDir, 0o700, tr.uid, tr.gid)
		target := filepath.Join(keysDir, "ak")
		writeOwned(tr.t, target, []byte(aliceKey+"\n"), 0o600, tr.uid, tr.gid)
		replaceWithSymlink(tr.t, tr.file, target, tr.uid, tr.gid)
	}},
	{name: "symlink to a root-owned 0640 file", needsRoot: true, setup: func(tr *strictModesTree) {
		etc := filepath.Join(tr.base, "etc")
		mkdirOwned(tr.t, etc, 0o755, 0, 0)
		shadow := filepath.Join(etc, "shadow")
		writeOwned(tr.t, shadow, []byte("root:$6$x:19000:0:99999:7:::\n"), 0o640, 0, 42)
		replaceWithSymlink(tr.t, tr.file, shadow, tr.uid, tr.gid)
	}, wantMsg: "is not readable by uid 4242 (owner 0, group 42, mode 0640): replace the symlink"},
	{name: "root-owned 0640 file in the account's group", needsRoot: true, setup: func(tr *strictModesTree) {
		chown(tr.t, tr.file, 0, tr.accountGroupOf)
		chmod(tr.t, tr.file, 0o640)
	}},
	{name: "FIFO", setup: func(tr *strictModesTree) {
		if err := os.Remove(tr.file); err != nil {
			tr.t.Fatal(err)
		}
		if err := syscall.Mkfifo(tr.file, 0o600); err != nil {
			tr.t.Fatal(err)
		}
		chown(tr.t, tr.file, tr.uid, tr.gid)
	}, wantMsg: "is not a regular file but a FIFO"},
	{name: "directory", setup: func(tr *strictModesTree) {
		if err := os.Remove(tr.file); err != nil {
			tr.t.Fatal(err)
		}
		mkdirOwned(tr.t, tr.file, 0o700, tr.uid, tr.gid)
	}, wantMsg: "is not a regular file but a directory"},
	{name: "account is root", needsRoot: true, setup: func(tr *strictModesTree) {
		for _, p := range []string{tr.home, tr.ssh, tr.file} {
			chown(tr.t, p, 0, 0)
		}
		tr.uid, tr.gids = 0, []int{0}
	}},
}

func TestCheckStrictModes(t *testing.T) {
	t.Parallel()
	for _, tt := range strictModesTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.needsRoot {
				needRoot(t)
			}
			uid, gid := testAccount(t)
			base, home := makeHome(t, uid, gid)
			tr := &strictModesTree{
				t: t, base: base, home: home,
				ssh: filepath.Join(home, ".ssh"), file: filepath.Join(home, ".ssh", "authorized_keys"),
				uid: uid, gid: gid, otherUID: uid + 2, gids: []int{gid, gid + 100}, accountGroupOf: gid + 100,
			}
			writeOwned(t, tr.file, []byte(aliceKey+"\n"), 0o600, uid, gid)
			tt.setup(tr)
			if tr.homeParam == "" {
				tr.homeParam = home
			}
			if tr.pathParam == "" {
				tr.pathParam = tr.file
			}

			err := CheckStrictModes(tr.pathParam, tr.uid, tr.gids, tr.homeParam)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("got error %v, want the file accepted", err)
				}
				return
			}
			if !errors.Is(err, ErrStrictModes) {
				t.Fatalf("got error %v, want one wrapping ErrStrictModes", err)
			}
			want := strings.NewReplacer("<ssh>", tr.ssh, "<home>", home).Replace(tt.wantMsg)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("got error %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestCheckStrictModesMessage(t *testing.T) {
	t.Parallel()
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	file := filepath.Join(home, ".ssh", "authorized_keys")
	writeOwned(t, file, nil, 0o666, uid, gid)
	err := CheckStrictModes(file, uid, []int{gid}, home)
	want := `refused by StrictModes: authorized_keys "` + file + `" is writable by group or others (mode 0666): chmod go-w ` + file
	if err == nil || err.Error() != want {
		t.Errorf("got error %q, want %q", err, want)
	}
}

func TestCheckStrictModesMissingFile(t *testing.T) {
	t.Parallel()
	err := CheckStrictModes(filepath.Join(t.TempDir(), "nope"), 0, nil, "")
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrStrictModes) {
		t.Errorf("got error %v, want a not-exist error that is no StrictModes refusal", err)
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "/home/work/.ssh", want: "/home/work/.ssh"},
		{name: "space", in: "/home/my work", want: "'/home/my work'"},
		{name: "quote", in: "/tmp/it's", want: `'/tmp/it'\''s'`},
		{name: "empty", in: "", want: "''"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func replaceWithSymlink(t *testing.T, path, target string, uid, gid int) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	chown(t, path, uid, gid)
}
