package account

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPreferUsableHome: an agent serving itself whose /etc/passwd home it cannot use
// (podman's added entry, home /) takes $HOME when it can use that, and only then.
func TestPreferUsableHome(t *testing.T) {
	t.Parallel()
	passwdHome, envHome := t.TempDir(), t.TempDir()
	const uid = 1000680000 // owns neither directory: only CanWrite decides
	writable := func(dirs ...string) func(string) bool {
		return func(p string) bool {
			for _, d := range dirs {
				if p == d {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name     string
		acctUID  uint32
		self     Self
		wantHome string
	}{
		{"passwd home unusable, $HOME usable: $HOME", uid,
			Self{UID: uid, Home: envHome, CanWrite: writable(envHome)}, envHome},
		{"passwd home usable: it stays", uid,
			Self{UID: uid, Home: envHome, CanWrite: writable(passwdHome, envHome)}, passwdHome},
		{"$HOME unusable too: the passwd home stays", uid,
			Self{UID: uid, Home: envHome, CanWrite: writable()}, passwdHome},
		{"$HOME relative: the passwd home stays", uid,
			Self{UID: uid, Home: "home", CanWrite: writable("home")}, passwdHome},
		{"$HOME missing: the passwd home stays", uid,
			Self{UID: uid, Home: filepath.Join(envHome, "none"), CanWrite: func(p string) bool { return p != passwdHome }}, passwdHome},
		{"another uid's account: untouched", uid + 1,
			Self{UID: uid, Home: envHome, CanWrite: writable(envHome)}, passwdHome},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &Account{Name: "u", UID: tt.acctUID, Home: passwdHome}
			preferUsableHome(a, uid, func() Self { return tt.self })
			if a.Home != tt.wantHome {
				t.Fatalf("home %s, want %s", a.Home, tt.wantHome)
			}
			if changed := a.Home != passwdHome; changed != (a.HomeNote != "") {
				t.Errorf("home changed %v, but HomeNote %q", changed, a.HomeNote)
			}
			if a.HomeNote != "" && !strings.Contains(a.HomeNote, "uses $HOME, "+envHome) {
				t.Errorf("HomeNote %q: want it to name $HOME, %s", a.HomeNote, envHome)
			}
		})
	}
}
