package keys

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const bobKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDY3s63Ft4FYHZT48w7iO1XUtE7mfplDKlL61LcEFBAKIr8PGf7d/youjZZEpzNQ7tJNTWsb1hr1B2sqj48nxgCZjyAIuvqvDAQa9Y6y30ycmR5fCwE984G9KRFFzc7nhpgB5YCAPQi8yRVE2mubX3SCY9jhkB+JUfzP7heBwOQJx3jPOq17pzB81qg6F0v1VSyey0xuYe3MzoDAtO+sUS2LbCy+oCgkdB8haHJAcfvElXbp7cOAJDBY3+z3zqGBc+dDV068Qz7E5AAHo1EG5h32iHXmqyatDq1/skNatJiQ5ZTfHNh0CLcQBBrmb+se98Hd1oU7cbC3i77SElIqBQukdDsHdbiNDpiW57u8eQg+anNkzm+OWQzzW4edvGH1LZAHTNeiRhjmp+yW2Tkhr/2i0hrAqzp9SPweEYJKknUcoLVu5OicjtZ8rJEov1yFZQejK6TqWhKc/SZsrtdF3Jd08I8IitZp2chHT2zfwdgfeh5Cg/EWSoFLwlL/18krDc="

// authorizedKeysFixture is an account's home and an AuthorizedKeysFile for its
// authorized_keys, logging into a recordingHandler.
type authorizedKeysFixture struct {
	t        *testing.T
	uid, gid int
	home     string
	path     string
	log      *recordingHandler
	f        *AuthorizedKeysFile
}

func newAuthorizedKeysFixture(t *testing.T) *authorizedKeysFixture {
	t.Helper()
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	fx := &authorizedKeysFixture{t: t, uid: uid, gid: gid, home: home,
		path: filepath.Join(home, ".ssh", "authorized_keys"), log: &recordingHandler{}}
	fx.f = NewAuthorizedKeysFile(fx.path, uid, []int{gid}, home, slog.New(fx.log))
	return fx
}

// settle makes the file count as unchanged for long enough to be cached, as it would
// be a second after the last edit.
func (fx *authorizedKeysFixture) settle() {
	fx.f.now = func() time.Time { return time.Now().Add(time.Hour) }
}

func (fx *authorizedKeysFixture) write(content string) {
	fx.t.Helper()
	writeOwned(fx.t, fx.path, []byte(content), 0o600, fx.uid, fx.gid)
}

func (fx *authorizedKeysFixture) appendLine(line string) {
	fx.t.Helper()
	f, err := os.OpenFile(fx.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fx.t.Fatal(err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		fx.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		fx.t.Fatal(err)
	}
}

// keys calls Keys and checks how many keys and whether an error came back.
func (fx *authorizedKeysFixture) keys(wantKeys int, wantErr error) []AuthorizedKey {
	fx.t.Helper()
	keys, err := fx.f.Keys()
	if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
		fx.t.Fatalf("Keys: got error %v, want %v", err, wantErr)
	}
	if len(keys) != wantKeys {
		fx.t.Fatalf("Keys: got %d keys, want %d", len(keys), wantKeys)
	}
	return keys
}

func TestAuthorizedKeysFileHotReload(t *testing.T) {
	t.Parallel()
	fx := newAuthorizedKeysFixture(t)
	fx.settle()

	fx.keys(0, nil) // missing: no keys, no error
	fx.keys(0, nil)
	if got := fx.log.count(slog.LevelDebug, "no authorized_keys file; only the generated key can log in"); got != 1 {
		t.Errorf("missing file logged %d times, want once", got)
	}

	fx.write(aliceKey + " alice\n")
	keys := fx.keys(1, nil)
	if keys[0].Comment != "alice" || keys[0].Line != 1 || keys[0].Source != fx.path {
		t.Errorf("got key %q line %d source %q, want alice line 1 source %q", keys[0].Comment, keys[0].Line, keys[0].Source, fx.path)
	}

	fx.appendLine(bobKey + " bob")
	keys = fx.keys(2, nil)
	if keys[1].Comment != "bob" || keys[1].Line != 2 {
		t.Errorf("appended key: got %q on line %d, want bob on line 2", keys[1].Comment, keys[1].Line)
	}

	// A chmod that makes the file unsafe takes effect at once, and is logged once.
	chmod(t, fx.path, 0o666)
	for range 3 {
		fx.keys(0, ErrStrictModes)
	}
	if got := fx.log.count(slog.LevelWarn, "authorized_keys refused"); got != 1 {
		t.Errorf("refusal logged %d times over 3 calls, want once", got)
	}
	chmod(t, fx.path, 0o600)
	fx.keys(2, nil)

	// So does one on a directory, which leaves the file's own stat unchanged.
	chmod(t, filepath.Join(fx.home, ".ssh"), 0o777)
	fx.keys(0, ErrStrictModes)
	chmod(t, filepath.Join(fx.home, ".ssh"), 0o700)
	fx.keys(2, nil)
	if got := fx.log.count(slog.LevelWarn, "authorized_keys refused"); got != 2 {
		t.Errorf("got %d refusals logged, want 2 (one per change)", got)
	}

	// Replaced by another file (new inode), then removed.
	tmp := fx.path + ".new"
	writeOwned(t, tmp, []byte(bobKey+" only bob\n"), 0o600, fx.uid, fx.gid)
	if err := os.Rename(tmp, fx.path); err != nil {
		t.Fatal(err)
	}
	if keys := fx.keys(1, nil); keys[0].Comment != "only bob" {
		t.Errorf("after replacement: got %q, want only bob", keys[0].Comment)
	}
	if err := os.Remove(fx.path); err != nil {
		t.Fatal(err)
	}
	fx.keys(0, nil)
}

// TestAuthorizedKeysFileCachesUntilChange pins that an unchanged file is not re-read:
// its rejected lines are logged once, not at every login.
func TestAuthorizedKeysFileCachesUntilChange(t *testing.T) {
	t.Parallel()
	fx := newAuthorizedKeysFixture(t)
	fx.settle()
	fx.write(aliceKey + "\nnot a key\n")
	for range 3 {
		fx.keys(1, nil)
	}
	if got := fx.log.count(slog.LevelWarn, "authorized_keys line ignored"); got != 1 {
		t.Errorf("bad line logged %d times over 3 calls, want once", got)
	}
	fx.appendLine(carolKey)
	fx.keys(2, nil)
	if got := fx.log.count(slog.LevelWarn, "authorized_keys line ignored"); got != 2 {
		t.Errorf("bad line logged %d times after a change, want 2 (once per read)", got)
	}
}

// TestAuthorizedKeysFileRecentChangeNotCached pins the racy-timestamp guard: a file
// changed within the last second is not cached, so a same-size rewrite within one
// timestamp tick (which leaves the stamp unchanged) is still seen at the next call.
func TestAuthorizedKeysFileRecentChangeNotCached(t *testing.T) {
	t.Parallel()
	fx := newAuthorizedKeysFixture(t)
	fx.write(aliceKey + "\n")
	fx.keys(1, nil)
	if fx.f.loaded {
		t.Error("a file changed just now was cached, want it read again next time")
	}
	fx.settle()
	fx.keys(1, nil)
	if !fx.f.loaded {
		t.Error("a file unchanged for an hour was not cached")
	}
}

func TestFileStampSettled(t *testing.T) {
	t.Parallel()
	changed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := func(tm time.Time) syscall.Timespec { return syscall.NsecToTimespec(tm.UnixNano()) }
	tests := []struct {
		name         string
		mtime, ctime time.Time
		now          time.Time
		want         bool
	}{
		{name: "just changed", mtime: changed, ctime: changed, now: changed, want: false},
		{name: "within the second", mtime: changed, ctime: changed, now: changed.Add(999 * time.Millisecond), want: false},
		{name: "over a second ago", mtime: changed, ctime: changed, now: changed.Add(1001 * time.Millisecond), want: true},
		{name: "mtime in the future", mtime: changed.Add(time.Hour), ctime: changed, now: changed.Add(time.Minute), want: false},
		{name: "ctime recent", mtime: changed.Add(-time.Hour), ctime: changed, now: changed.Add(time.Millisecond), want: false},
	}
	for _, tt := range tests {
		s := fileStamp{mtime: ts(tt.mtime), ctime: ts(tt.ctime)}
		if got := s.settled(tt.now); got != tt.want {
			t.Errorf("%s: got settled %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAuthorizedKeysFileRefusesUnsafeTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		needsRoot bool
		wantErr   error // ErrStrictModes when nil
		setup     func(fx *authorizedKeysFixture)
	}{
		{name: "FIFO", setup: func(fx *authorizedKeysFixture) {
			if err := syscall.Mkfifo(fx.path, 0o600); err != nil {
				fx.t.Fatal(err)
			}
			chown(fx.t, fx.path, fx.uid, fx.gid)
		}},
		{name: "directory", setup: func(fx *authorizedKeysFixture) {
			mkdirOwned(fx.t, fx.path, 0o700, fx.uid, fx.gid)
		}},
		{name: "symlink to a file the account cannot read", needsRoot: true, wantErr: os.ErrPermission, setup: func(fx *authorizedKeysFixture) {
			secret := filepath.Join(filepath.Dir(fx.home), "shadow")
			writeOwned(fx.t, secret, []byte(aliceKey+"\n"), 0o640, 0, 42)
			if err := os.Symlink(secret, fx.path); err != nil {
				fx.t.Fatal(err)
			}
			chown(fx.t, fx.path, fx.uid, fx.gid)
		}},
		{name: "symlink to /dev/zero", setup: func(fx *authorizedKeysFixture) {
			if err := os.Symlink("/dev/zero", fx.path); err != nil {
				fx.t.Fatal(err)
			}
			chown(fx.t, fx.path, fx.uid, fx.gid)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.needsRoot {
				needRoot(t)
			}
			wantErr := tt.wantErr
			if wantErr == nil {
				wantErr = ErrStrictModes
			}
			fx := newAuthorizedKeysFixture(t)
			tt.setup(fx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				keys, err := fx.f.Keys()
				if !errors.Is(err, wantErr) || len(keys) != 0 {
					t.Errorf("got %d keys and error %v, want none and %v", len(keys), err, wantErr)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Keys hung on a special file")
			}
		})
	}
}

func TestAuthorizedKeysFileConcurrent(t *testing.T) {
	t.Parallel()
	fx := newAuthorizedKeysFixture(t)
	fx.write(aliceKey + " 0\n")
	const writers = 20
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i < writers; i++ {
			fx.appendLine(fmt.Sprintf("%s %d", aliceKey, i))
		}
	})
	for range 16 {
		wg.Go(func() {
			last := 0
			for range 50 {
				keys, err := fx.f.Keys()
				if err != nil {
					t.Errorf("Keys: %v", err)
					return
				}
				// Lines are only appended, so a later read never has fewer
				// complete keys; a torn last line is at most one fewer.
				if len(keys) < last-1 {
					t.Errorf("got %d keys after %d", len(keys), last)
				}
				last = len(keys)
			}
		})
	}
	wg.Wait()
	fx.keys(writers, nil)
}
