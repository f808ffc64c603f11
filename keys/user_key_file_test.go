package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestUserKeyFileFollowsTheFile: the key that logs in as id_container is the one the
// file holds now: none once it is removed, the new one once it is replaced, and none
// while the file is refused (issue 10, item 4).
func TestUserKeyFileFollowsTheFile(t *testing.T) {
	t.Parallel()
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	path := filepath.Join(home, "id_container")
	first, err := EnsureUserKey(path, "", uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	f := NewUserKeyFile(path, uid, gid, nil)
	// A clock far ahead makes every read "settled", so the cache is what is tested.
	f.now = func() time.Time { return time.Now().Add(time.Hour) }
	mustKey(t, f, first.Public)
	mustKey(t, f, first.Public) // from the cache

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if k, err := f.Key(); k != nil || err != nil {
		t.Fatalf("after rm: got %v, %v; want no key and no error", k, err)
	}

	second, err := EnsureUserKey(path, KeyTypeRSA, uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	mustKey(t, f, second.Public)

	tests := []struct {
		name    string
		break_  func(t *testing.T)
		wantErr string
	}{
		{"group-writable", func(t *testing.T) { chmod(t, path, 0o620) }, "chmod 600"},
		{"writable by others", func(t *testing.T) { chmod(t, path, 0o606) }, "chmod 600"},
		{"symlink", func(t *testing.T) {
			if err := os.Rename(path, path+".real"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}, "symlink"},
		{"fifo", func(t *testing.T) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			chown(t, path, uid, gid)
		}, "not a regular file"},
		{"garbage", func(t *testing.T) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			writeOwned(t, path, []byte("not a key\n"), 0o600, uid, gid)
		}, "id_container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.Remove(path + ".real")
			_ = os.Remove(path)
			if _, err := EnsureUserKey(path, "", uid, gid); err != nil {
				t.Fatal(err)
			}
			if k, err := f.Key(); k == nil || err != nil {
				t.Fatalf("before: got %v, %v", k, err)
			}
			tt.break_(t)
			k, err := f.Key()
			if k != nil || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, %v; want no key and an error containing %q", k, err, tt.wantErr)
			}
		})
	}
}

// TestUserKeyFileOwner: a key file that is not the account's is refused at login, as at
// start (readPrivateFile's rules).
func TestUserKeyFileOwner(t *testing.T) {
	t.Parallel()
	needRoot(t)
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	path := filepath.Join(home, "id_container")
	if _, err := EnsureUserKey(path, "", uid, gid); err != nil {
		t.Fatal(err)
	}
	chown(t, path, 65534, 65534)
	chmod(t, home, 0o711) // the account may still look the file up
	if k, err := NewUserKeyFile(path, uid, gid, nil).Key(); k != nil || err == nil {
		t.Errorf("got %v, %v; want a key of uid 65534 refused", k, err)
	}
}

func mustKey(t *testing.T, f *UserKeyFile, want ssh.PublicKey) {
	t.Helper()
	got, err := f.Key()
	if err != nil || got == nil || !bytes.Equal(got.Marshal(), want.Marshal()) {
		t.Fatalf("Key: got %v, %v; want %s", got, err, ssh.FingerprintSHA256(want))
	}
}

// TestUserKeyFileSameRuleAsStart: a key file that group or others may read logs in at
// login as it does at start (EnsureUserKey sets Exposed), and one they may write is no
// key at either (issue 10 review, files 1: the two used to disagree).
func TestUserKeyFileSameRuleAsStart(t *testing.T) {
	t.Parallel()
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	path := filepath.Join(home, "id_container")
	first, err := EnsureUserKey(path, "", uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode    os.FileMode
		logs_in bool
	}{{0o644, true}, {0o640, true}, {0o604, true}, {0o666, false}, {0o620, false}, {0o602, false}} {
		chmod(t, path, tt.mode)
		uk, err := EnsureUserKey(path, "", uid, gid)
		if err != nil {
			t.Fatalf("mode %04o: EnsureUserKey: %v", tt.mode, err)
		}
		k, kerr := NewUserKeyFile(path, uid, gid, nil).Key()
		atStart, atLogin := uk.Unavailable == nil, k != nil
		if atStart != tt.logs_in || atLogin != tt.logs_in {
			t.Errorf("mode %04o: logs in at start %v (%v), at login %v (%v); want %v at both", tt.mode, atStart, uk.Unavailable, atLogin, kerr, tt.logs_in)
		}
		if atLogin && !bytes.Equal(k.Marshal(), first.Public.Marshal()) {
			t.Errorf("mode %04o: got another key at login", tt.mode)
		}
	}
}
