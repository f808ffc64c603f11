package keys

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestEnsureUserKeyCreateThenReuse(t *testing.T) {
	t.Parallel()
	puttygen := requireTool(t, "puttygen")
	tests := []struct {
		name     string
		keyType  string
		wantType string
	}{
		{name: "default", keyType: "", wantType: ssh.KeyAlgoED25519},
		{name: "ed25519", keyType: "ed25519", wantType: ssh.KeyAlgoED25519},
		{name: "rsa", keyType: "rsa", wantType: ssh.KeyAlgoRSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uid, gid := testAccount(t)
			_, home := makeHome(t, uid, gid)
			path := filepath.Join(home, "id_container")

			uk, err := EnsureUserKey(path, tt.keyType, uid, gid)
			if err != nil {
				t.Fatalf("EnsureUserKey (create): %v", err)
			}
			if !uk.Created {
				t.Error("got Created false on first call, want true")
			}
			if uk.PrivatePath != path || uk.PublicPath != path+".pub" || uk.PPKPath != path+".ppk" {
				t.Errorf("got paths %q %q %q, want %q with .pub and .ppk", uk.PrivatePath, uk.PublicPath, uk.PPKPath, path)
			}
			if got := uk.Public.Type(); got != tt.wantType {
				t.Errorf("got key type %s, want %s", got, tt.wantType)
			}
			if tt.wantType == ssh.KeyAlgoRSA {
				n := uk.Public.(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey).N.BitLen()
				if n != 3072 {
					t.Errorf("got %d-bit rsa key, want 3072", n)
				}
			}
			for _, f := range []struct {
				path string
				mode os.FileMode
			}{{uk.PrivatePath, 0o600}, {uk.PublicPath, 0o644}, {uk.PPKPath, 0o600}} {
				if got := fileMode(t, f.path); got != f.mode {
					t.Errorf("%s: got mode %v, want %v", filepath.Base(f.path), got, f.mode)
				}
				if gotUID, gotGID := fileOwnerOf(t, f.path); gotUID != uid || gotGID != gid {
					t.Errorf("%s: got owner %d:%d, want %d:%d", filepath.Base(f.path), gotUID, gotGID, uid, gid)
				}
			}
			assertUserKeyFilesMatch(t, puttygen, uk)
			before := readAll(t, uk.PrivatePath, uk.PublicPath, uk.PPKPath)

			again, err := EnsureUserKey(path, tt.keyType, uid, gid)
			if err != nil {
				t.Fatalf("EnsureUserKey (reuse): %v", err)
			}
			if again.Created {
				t.Error("got Created true on second call, want false")
			}
			if !bytes.Equal(again.Public.Marshal(), uk.Public.Marshal()) {
				t.Errorf("got key %s on second call, want %s", ssh.FingerprintSHA256(again.Public), ssh.FingerprintSHA256(uk.Public))
			}
			if after := readAll(t, uk.PrivatePath, uk.PublicPath, uk.PPKPath); !equalContents(before, after) {
				t.Error("second call changed the key files, want them untouched")
			}
		})
	}
}

func TestEnsureUserKeyKeepsExistingKey(t *testing.T) {
	t.Parallel()
	puttygen := requireTool(t, "puttygen")
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	path := filepath.Join(home, "id_container")
	// The user's own RSA key where an ed25519 one would be generated.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := marshalOpenSSHPrivateKey(rsaKey, "mine")
	if err != nil {
		t.Fatal(err)
	}
	writeOwned(t, path, pemData, 0o600, uid, gid)
	customPPK := []byte("the user's own ppk\n")
	writeOwned(t, path+".ppk", customPPK, 0o600, uid, gid)

	uk, err := EnsureUserKey(path, "ed25519", uid, gid)
	if err != nil {
		t.Fatalf("EnsureUserKey: %v", err)
	}
	if uk.Created {
		t.Error("got Created true, want false for an existing key")
	}
	if got := uk.Public.Type(); got != ssh.KeyAlgoRSA {
		t.Errorf("got key type %s, want the existing ssh-rsa", got)
	}
	if got := readAll(t, path)[0]; !bytes.Equal(got, pemData) {
		t.Error("private key was rewritten, want it untouched")
	}
	if got := readAll(t, path+".ppk")[0]; !bytes.Equal(got, customPPK) {
		t.Errorf("existing .ppk: got %q, want it untouched", got)
	}
	pubLine := readAll(t, path+".pub")[0]
	if got, want := keyTypeAndBlob(string(pubLine)), keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(uk.Public))); got != want {
		t.Errorf("created .pub: got %q, want %q", got, want)
	}

	// A missing .ppk is made from the existing key.
	if err := os.Remove(path + ".ppk"); err != nil {
		t.Fatal(err)
	}
	uk, err = EnsureUserKey(path, "ed25519", uid, gid)
	if err != nil {
		t.Fatalf("EnsureUserKey: %v", err)
	}
	assertUserKeyFilesMatch(t, puttygen, uk)
}

func TestEnsureUserKeyReplacesStaleTwins(t *testing.T) {
	t.Parallel()
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	path := filepath.Join(home, "id_container")
	old, err := EnsureUserKey(path, "", uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil { // the user deleted the private key only
		t.Fatal(err)
	}
	uk, err := EnsureUserKey(path, "", uid, gid)
	if err != nil {
		t.Fatalf("EnsureUserKey: %v", err)
	}
	if !uk.Created || bytes.Equal(uk.Public.Marshal(), old.Public.Marshal()) {
		t.Fatalf("got Created %v with the old key, want a new key", uk.Created)
	}
	pubLine := readAll(t, path+".pub")[0]
	if got, want := keyTypeAndBlob(string(pubLine)), keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(uk.Public))); got != want {
		t.Errorf(".pub after regeneration: got %q, want %q", got, want)
	}
}

// userKeySymlinkCase is one TestEnsureUserKeyRefusesSymlinks case: where the symlink is
// planted beside or at id_container.
type userKeySymlinkCase struct {
	name     string
	linkAt   string // suffix of the id path that is a symlink
	dangling bool
	existing bool // the private key exists already (else it is generated)
}

var userKeySymlinkCases = []userKeySymlinkCase{
	{name: "private key", linkAt: ""},
	{name: "private key dangling", linkAt: "", dangling: true},
	{name: "public key", linkAt: ".pub"},
	{name: "public key dangling", linkAt: ".pub", dangling: true},
	{name: "ppk", linkAt: ".ppk"},
	{name: "ppk dangling", linkAt: ".ppk", dangling: true},
	{name: "public key beside an existing key", linkAt: ".pub", existing: true},
	{name: "ppk beside an existing key", linkAt: ".ppk", existing: true},
	{name: "ppk dangling beside an existing key", linkAt: ".ppk", dangling: true, existing: true},
}

// symlinkVictim is what a symlink planted by the account points at: a file only root
// may read, which must never be written through the symlink.
var symlinkVictim = []byte("root:$6$secret:19000:0:99999:7:::\n")

func TestEnsureUserKeyRefusesSymlinks(t *testing.T) {
	t.Parallel()
	for _, tt := range userKeySymlinkCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uid, gid := testAccount(t)
			base, home := makeHome(t, uid, gid)
			path := filepath.Join(home, "id_container")
			target := filepath.Join(base, "victim")
			existing := tt.plant(t, path, target, uid, gid)
			uk, err := EnsureUserKey(path, "", uid, gid)
			tt.checkKey(t, path, uk, err, existing)
			got, rerr := os.ReadFile(target)
			switch {
			case tt.dangling && rerr == nil:
				t.Errorf("symlink target was created (%q), want nothing written through the symlink", got)
			case !tt.dangling && !bytes.Equal(got, symlinkVictim):
				t.Errorf("symlink target: got %q, want it untouched", got)
			}
			if (tt.linkAt == "" || tt.existing) && fileMode(t, path+tt.linkAt)&os.ModeSymlink == 0 {
				t.Error("the symlink was replaced, want it left for the user to see")
			}
		})
	}
}

// plant makes the victim file (unless dangling), the existing key (when asked), and the
// account's symlink at path+linkAt to target. It returns the existing key, or nil.
func (tt userKeySymlinkCase) plant(t *testing.T, path, target string, uid, gid int) *UserKey {
	t.Helper()
	if !tt.dangling {
		if err := os.WriteFile(target, symlinkVictim, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var existing *UserKey
	if tt.existing {
		var err error
		if existing, err = EnsureUserKey(path, "", uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(path + tt.linkAt); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target, path+tt.linkAt); err != nil {
		t.Fatal(err)
	}
	chown(t, path+tt.linkAt, uid, gid)
	return existing
}

// checkKey checks what EnsureUserKey said with the symlink in place.
func (tt userKeySymlinkCase) checkKey(t *testing.T, path string, uk *UserKey, err error, existing *UserKey) {
	t.Helper()
	switch {
	case tt.linkAt == "":
		// A symlink at the private key is no id_container, never an error that
		// stops the agent, and is never followed (issue 10 review, files 1).
		if err != nil {
			t.Fatalf("got error %v, want no id_container and no error", err)
		}
		checkRefusedPrivateKeySymlink(t, path, uk)
	case err != nil:
		t.Fatalf("got error %v, want a symlink at the derived file %s not to stop the agent", err, path+tt.linkAt)
	case tt.existing:
		// Kept as it is, and said so with the fix.
		if len(uk.Skipped) != 1 || !strings.Contains(uk.Skipped[0].Error(), path+tt.linkAt) || !strings.Contains(uk.Skipped[0].Error(), "rm ") {
			t.Errorf("got Skipped %v, want one entry naming %s and the fix", uk.Skipped, path+tt.linkAt)
		}
		if !bytes.Equal(uk.Public.Marshal(), existing.Public.Marshal()) {
			t.Error("the existing key changed")
		}
		if tt.linkAt == ".ppk" && uk.PPKPath != "" {
			t.Errorf("got PPKPath %q, want none reported for a skipped .ppk", uk.PPKPath)
		}
	default:
		// A new private key replaces the entry (rename), never writing through it.
		if fileMode(t, path+tt.linkAt)&os.ModeSymlink != 0 {
			t.Error("the symlink beside a new key was kept, want it replaced by the new key's file")
		}
	}
}

// checkRefusedPrivateKeySymlink wants uk to be no key, naming the symlink at path, with
// nothing derived from it.
func checkRefusedPrivateKeySymlink(t *testing.T, path string, uk *UserKey) {
	t.Helper()
	if uk.Unavailable == nil || !strings.Contains(uk.Unavailable.Error(), "symlink") || !strings.Contains(uk.Unavailable.Error(), path) {
		t.Fatalf("got Unavailable %v, want it naming the symlink %q", uk.Unavailable, path)
	}
	if uk.Public != nil || uk.PublicPath != "" || uk.PPKPath != "" {
		t.Errorf("got Public %v, PublicPath %q, PPKPath %q; want none for a refused key", uk.Public, uk.PublicPath, uk.PPKPath)
	}
	for _, derived := range []string{path + ".pub", path + ".ppk"} {
		if _, err := os.Lstat(derived); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("lstat %s: got %v, want nothing derived from a refused key", derived, err)
		}
	}
}

// TestEnsureUserKeySkipsGarbageDerivedFiles: a FIFO or directory at the .pub or .ppk is
// logged (Skipped) and never stops the agent (issue 10, item 10); a FIFO does not
// block it either.
func TestEnsureUserKeySkipsGarbageDerivedFiles(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{".pub", ".ppk"} {
		for _, kind := range []string{"fifo", "directory"} {
			t.Run(suffix+" "+kind, func(t *testing.T) {
				t.Parallel()
				uid, gid := testAccount(t)
				_, home := makeHome(t, uid, gid)
				path := filepath.Join(home, "id_container")
				if _, err := EnsureUserKey(path, "", uid, gid); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(path + suffix); err != nil {
					t.Fatal(err)
				}
				if kind == "fifo" {
					if err := syscall.Mkfifo(path+suffix, 0o600); err != nil {
						t.Fatal(err)
					}
				} else {
					mkdirOwned(t, path+suffix, 0o700, uid, gid)
				}
				uk, err := EnsureUserKey(path, "", uid, gid)
				if err != nil {
					t.Fatalf("got error %v, want %s at %s to be skipped", err, kind, path+suffix)
				}
				if len(uk.Skipped) != 1 || !strings.Contains(uk.Skipped[0].Error(), path+suffix) {
					t.Errorf("got Skipped %v, want one entry naming %s", uk.Skipped, path+suffix)
				}
				if uk.Public == nil {
					t.Error("got no public key, want the existing private key's")
				}
			})
		}
	}
}

// TestEnsureUserKeyUnwritableHome: a home the account cannot write (or a read-only
// mount) means no id_container, which is no error: the agent serves authorized_keys
// logins and says why there is no id_container (issue 10, item 14).
func TestEnsureUserKeyUnwritableHome(t *testing.T) {
	t.Parallel()
	needRoot(t)
	uid, gid := testAccount(t)
	_, home := makeHome(t, uid, gid)
	if err := os.Chmod(home, 0o555); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "id_container")
	uk, err := EnsureUserKey(path, "", uid, gid)
	if err != nil {
		t.Fatalf("got error %v, want no id_container and no error", err)
	}
	if uk.Unavailable == nil || !strings.Contains(uk.Unavailable.Error(), "permission denied") || !strings.Contains(uk.Unavailable.Error(), "--id-file") {
		t.Errorf("got Unavailable %v, want the reason and the fix", uk.Unavailable)
	}
	if uk.Public != nil || uk.Created {
		t.Errorf("got Public %v, Created %v, want no key", uk.Public, uk.Created)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lstat %s: got %v, want nothing created", path, err)
	}
}

func TestEnsureUserKeyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string, uid, gid int)
		keyType string
		wantMsg string
	}{
		{
			name:    "unknown key type",
			keyType: "dsa",
			wantMsg: `key type "dsa"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uid, gid := testAccount(t)
			_, home := makeHome(t, uid, gid)
			path := filepath.Join(home, ".ssh", "id_container")
			var before []byte
			if tt.setup != nil {
				tt.setup(t, path, uid, gid)
				before, _ = os.ReadFile(path)
			}
			_, err := EnsureUserKey(path, tt.keyType, uid, gid)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got error %v, want one saying %q", err, tt.wantMsg)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Error("the existing file was modified")
			}
		})
	}
}

// TestEnsureUserKeyActsAsAccount pins that files are written with the account's rights:
// a directory symlink the user plants cannot make root create files where the user
// could not.
func TestEnsureUserKeyActsAsAccount(t *testing.T) {
	t.Parallel()
	needRoot(t)
	uid, gid := testAccount(t)
	base, home := makeHome(t, uid, gid)
	rootOnly := filepath.Join(base, "root-only")
	if err := os.Mkdir(rootOnly, 0o755); err != nil { // root's, not writable by the account
		t.Fatal(err)
	}
	link := filepath.Join(home, "keys")
	if err := os.Symlink(rootOnly, link); err != nil {
		t.Fatal(err)
	}
	chown(t, link, uid, gid)

	uk, err := EnsureUserKey(filepath.Join(link, "id_container"), "", uid, gid)
	if err != nil || uk.Unavailable == nil || !strings.Contains(uk.Unavailable.Error(), "permission denied") {
		t.Fatalf("got %v, %v, want no id_container: permission denied", uk, err)
	}
	entries, err := os.ReadDir(rootOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("got %d files in the root-only directory, want none", len(entries))
	}
}

// assertUserKeyFilesMatch checks that the private key, .pub and .ppk all hold uk.Public,
// the .ppk as read by puttygen.
func assertUserKeyFilesMatch(t *testing.T, puttygen string, uk *UserKey) {
	t.Helper()
	want := keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(uk.Public)))
	priv, err := ssh.ParseRawPrivateKey(readAll(t, uk.PrivatePath)[0])
	if err != nil {
		t.Fatalf("parse private key: %v", err)
	}
	if k, ok := priv.(*ed25519.PrivateKey); ok {
		priv = *k
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := keyTypeAndBlob(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); got != want {
		t.Errorf("private key: got public half %q, want %q", got, want)
	}
	if got := keyTypeAndBlob(string(readAll(t, uk.PublicPath)[0])); got != want {
		t.Errorf(".pub: got %q, want %q", got, want)
	}
	out, err := exec.Command(puttygen, uk.PPKPath, "-O", "public-openssh").CombinedOutput()
	if err != nil {
		t.Fatalf("puttygen %s: %v\n%s", uk.PPKPath, err, out)
	}
	if got := keyTypeAndBlob(string(out)); got != want {
		t.Errorf(".ppk via puttygen: got %q, want %q", got, want)
	}
}

func readAll(t *testing.T, paths ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func equalContents(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestEnsureUserKeyRefusesUntrustedKey: an existing id_container that is no key the
// agent uses (another account's, writable by group or others, garbage, a directory, a
// FIFO) is no id_container, never an error that stops the agent (issue 10 review, files
// 1), and is left exactly as it is; one that group or others may only read logs in, with
// a warning and the fix (Exposed).
func TestEnsureUserKeyRefusesUntrustedKey(t *testing.T) {
	t.Parallel()
	needRoot(t)
	uid, gid := testAccount(t)
	key, err := generateKey(KeyTypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := marshalOpenSSHPrivateKey(key, "planted")
	if err != nil {
		t.Fatal(err)
	}
	garbage := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n")
	tests := []struct {
		name        string
		setup       func(t *testing.T, path string)
		wantRefused string // in Unavailable; "" when the key logs in
		wantExposed bool
	}{
		{"owned by another account", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o644, 65534, gid) }, "belongs to uid 65534", false},
		{"unreadable by the account", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o600, 65534, gid) }, "chown", false},
		{"writable by others", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o666, uid, gid) }, "chmod 600", false},
		{"writable by the group", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o620, uid, gid) }, "chmod 600", false},
		{"garbage", func(t *testing.T, p string) { writeOwned(t, p, garbage, 0o600, uid, gid) }, "restart jobsshd", false},
		{"directory", func(t *testing.T, p string) { mkdirOwned(t, p, 0o700, uid, gid) }, "not a regular file", false},
		{"fifo", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			chown(t, p, uid, gid)
		}, "a FIFO", false},
		{"readable by others", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o644, uid, gid) }, "", true},
		{"readable by the group", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o640, uid, gid) }, "", true},
		{"private", func(t *testing.T, p string) { writeOwned(t, p, pemData, 0o600, uid, gid) }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, home := makeHome(t, uid, gid)
			path := filepath.Join(home, "id_container")
			tt.setup(t, path)
			before, _ := os.Lstat(path)
			var beforeData []byte
			if before.Mode().IsRegular() { // reading the FIFO would block
				beforeData, _ = os.ReadFile(path)
			}
			uk, err := EnsureUserKey(path, KeyTypeEd25519, uid, gid)
			if err != nil {
				t.Fatalf("got error %v, want none: nothing at id_container stops the agent", err)
			}
			if tt.wantRefused != "" {
				if uk.Unavailable == nil || !strings.Contains(uk.Unavailable.Error(), tt.wantRefused) || !strings.Contains(uk.Unavailable.Error(), path) {
					t.Errorf("got Unavailable %v, want it naming %s and %q", uk.Unavailable, path, tt.wantRefused)
				}
				if uk.Public != nil || uk.Created || uk.PublicPath != "" || uk.PPKPath != "" {
					t.Errorf("got %+v, want no key and no derived files reported", uk)
				}
				for _, derived := range []string{path + ".pub", path + ".ppk"} {
					if _, err := os.Lstat(derived); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("lstat %s: got %v, want nothing derived from a refused key", derived, err)
					}
				}
			} else {
				if uk.Unavailable != nil || uk.Public == nil || !bytes.Equal(uk.Public.Marshal(), mustPublic(t, key).Marshal()) {
					t.Errorf("got Unavailable %v, Public %v; want the existing key used", uk.Unavailable, uk.Public)
				}
				if got := uk.Exposed != nil && strings.Contains(uk.Exposed.Error(), "chmod 600 "+path); got != tt.wantExposed {
					t.Errorf("got Exposed %v, want a warning with the fix: %v", uk.Exposed, tt.wantExposed)
				}
			}
			checkLeftAsItWas(t, path, before, beforeData)
		})
	}
}

// checkLeftAsItWas wants the entry at path to be the one that was there (before, and
// beforeData when it is a regular file): same mode, owner, inode and content.
func checkLeftAsItWas(t *testing.T, path string, before fs.FileInfo, beforeData []byte) {
	t.Helper()
	after, err := os.Lstat(path)
	if err != nil || after.Mode() != before.Mode() || after.Sys().(*syscall.Stat_t).Uid != before.Sys().(*syscall.Stat_t).Uid ||
		after.Sys().(*syscall.Stat_t).Ino != before.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("id_container changed: before %v, after %v, %v", before.Mode(), after, err)
	}
	if beforeData != nil {
		if afterData, _ := os.ReadFile(path); !bytes.Equal(afterData, beforeData) {
			t.Error("id_container's content changed")
		}
	}
}

// mustPublic is the ssh public key of priv.
func mustPublic(t *testing.T, priv crypto.PrivateKey) ssh.PublicKey {
	t.Helper()
	pub, err := ssh.NewPublicKey(priv.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
