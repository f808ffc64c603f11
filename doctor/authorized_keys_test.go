package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

func TestCheckAuthorizedKeys(t *testing.T) {
	_, pub := newKey(t)
	good := string(ssh.MarshalAuthorizedKey(pub))
	tests := []struct {
		name       string
		content    string // "" means no file
		fileMode   os.FileMode
		sshDirMode os.FileMode
		wantUsable int
		wantSub    string // a finding whose What contains this ...
		wantSev    Severity
		wantFix    string // ... and whose Fix contains this
	}{
		{name: "missing", wantSub: "does not exist", wantSev: Info},
		{name: "one key", content: good, fileMode: 0o600, wantUsable: 1, wantSub: "1 usable key", wantSev: OK},
		{name: "0644 in 0755 .ssh", content: good, fileMode: 0o644, sshDirMode: 0o755, wantUsable: 1, wantSub: "1 usable key", wantSev: OK},
		{name: "bad line", content: "# comment\n" + good + "ssh-ed25519 AAAAnotbase64!\n", fileMode: 0o600, wantUsable: 1,
			wantSub: "line 3 is ignored", wantSev: Warn, wantFix: "delete line 3 of"},
		{name: "no key", content: "# only a comment\n", fileMode: 0o600, wantSub: "holds no usable key", wantSev: Info},
		{name: "world-writable file", content: good, fileMode: 0o666,
			wantSub: "the file is ignored", wantSev: Fail, wantFix: "chmod go-w "},
		{name: "group-writable .ssh", content: good, fileMode: 0o600, sshDirMode: 0o770,
			wantSub: "the file is ignored", wantSev: Fail, wantFix: "chmod go-w "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := selfAccount(t)
			path := authorizedKeysPath(a)
			if tt.content != "" {
				writeFile(t, path, []byte(tt.content), tt.fileMode)
			}
			if tt.sshDirMode != 0 {
				if err := os.Chmod(filepath.Dir(path), tt.sshDirMode); err != nil {
					t.Fatal(err)
				}
			}
			r := &Report{}
			if got := checkAuthorizedKeys(r, a); got != tt.wantUsable {
				t.Errorf("usable keys: got %d, want %d", got, tt.wantUsable)
			}
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
		})
	}
}

func TestSplitStrictModesError(t *testing.T) {
	tests := []struct {
		name, msg, wantWhat, wantFix string
	}{
		{name: "chmod", msg: `authorized_keys "/h/.ssh/authorized_keys" is writable by group or others (mode 0666): chmod go-w /h/.ssh/authorized_keys`,
			wantWhat: `authorized_keys "/h/.ssh/authorized_keys" is writable by group or others (mode 0666)`, wantFix: "chmod go-w /h/.ssh/authorized_keys"},
		{name: "chown", msg: `directory "/h/.ssh" is owned by uid 7, not by uid 8 or root: chown 8 /h/.ssh`,
			wantWhat: `directory "/h/.ssh" is owned by uid 7, not by uid 8 or root`, wantFix: "chown 8 /h/.ssh"},
		{name: "no command", msg: `directory "/h": permission denied`,
			wantWhat: `directory "/h": permission denied`, wantFix: "not writable by group or others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			what, fix := splitStrictModesError(fmt.Errorf("%w: %s", keys.ErrStrictModes, tt.msg))
			if what != keys.ErrStrictModes.Error()+": "+tt.wantWhat || !strings.Contains(fix, tt.wantFix) {
				t.Errorf("got (%q, %q), want (%q, containing %q)", what, fix, tt.wantWhat, tt.wantFix)
			}
		})
	}
	// The split must stay in step with the messages keys really produces.
	a := selfAccount(t)
	path := authorizedKeysPath(a)
	writeFile(t, path, []byte("\n"), 0o666)
	err := keys.CheckStrictModes(path, int(a.UID), a.GroupIDs(), a.Home)
	if !errors.Is(err, keys.ErrStrictModes) {
		t.Fatalf("CheckStrictModes of a 0666 file: got %v, want ErrStrictModes", err)
	}
	if _, fix := splitStrictModesError(err); fix != "chmod go-w "+path {
		t.Errorf("fix from keys' own message: got %q, want %q", fix, "chmod go-w "+path)
	}
}

// TestCheckAuthorizedKeysFIFO: a FIFO in place of authorized_keys is judged by what was
// opened (not by a check of the path made earlier) and never blocks the diagnosis.
func TestCheckAuthorizedKeysFIFO(t *testing.T) {
	a := selfAccount(t)
	path := authorizedKeysPath(a)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r := &Report{}
	done := make(chan int, 1)
	go func() { done <- checkAuthorizedKeys(r, a) }()
	select {
	case got := <-done:
		if got != 0 {
			t.Errorf("usable keys: got %d, want 0", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("checkAuthorizedKeys still running after 10s: it blocked on the FIFO")
	}
	want(t, r, only(t, r, "is not a regular file but a FIFO"), Fail, "replace it with a regular file")
}

func TestCheckKeyFiles(t *testing.T) {
	_, pub := newKey(t)
	good := string(ssh.MarshalAuthorizedKey(pub))
	tests := []struct {
		name       string
		content    string // "" means no file
		fileMode   os.FileMode
		wantUsable int
		wantSub    string
		wantSev    Severity
		wantFix    string
	}{
		{name: "one key", content: good, fileMode: 0o644, wantUsable: 1, wantSub: "platform_keys: 1 usable key", wantSev: OK},
		{name: "bad line", content: good + "\nssh-ed25519 AAAAnotbase64!\n", fileMode: 0o644, wantUsable: 1,
			wantSub: "line 3 is ignored", wantSev: Warn, wantFix: "delete line 3 of"},
		{name: "missing", wantSub: "--authorized-keys file", wantSev: Warn, wantFix: "drop --authorized-keys"},
		{name: "group-writable", content: good, fileMode: 0o664, wantSub: "none of its keys can log in", wantSev: Fail, wantFix: "chmod go-w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := selfAccount(t)
			// Under the home: StrictModes walks up to it, and would refuse the sticky /tmp above.
			path := filepath.Join(a.Home, "mnt", "platform_keys")
			if tt.content != "" {
				writeFile(t, path, []byte(tt.content), tt.fileMode)
			}
			r := &Report{}
			if got := checkKeyFiles(r, a, []string{path}); got != tt.wantUsable {
				t.Errorf("usable keys: got %d, want %d", got, tt.wantUsable)
			}
			f := only(t, r, tt.wantSub)
			want(t, r, f, tt.wantSev, tt.wantFix)
			if !strings.Contains(f.What, path) {
				t.Errorf("finding %q does not name %s", f.What, path)
			}
		})
	}
}

func TestCheckInlineKeys(t *testing.T) {
	_, pub := newKey(t)
	good := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	tests := []struct {
		name, lines string
		wantUsable  int
		wantSub     string // "" means no finding at all
		wantSev     Severity
		wantFix     string
	}{
		{name: "unset"},
		{name: "two keys", lines: good + "\nrestrict " + good, wantUsable: 2, wantSub: "JOBSSHD_AUTHORIZED_KEYS: 2 usable keys", wantSev: OK},
		{name: "bad line", lines: good + "\n\nnot-a-key AAAA", wantUsable: 1,
			wantSub: "JOBSSHD_AUTHORIZED_KEYS line 3 is ignored", wantSev: Warn, wantFix: "line 3 of JOBSSHD_AUTHORIZED_KEYS"},
		{name: "bad option", lines: "no-such-option " + good, wantSub: "JOBSSHD_AUTHORIZED_KEYS line 1 is ignored", wantSev: Warn, wantFix: "line 1"},
		{name: "only a comment", lines: "# none", wantSub: "JOBSSHD_AUTHORIZED_KEYS holds no usable key", wantSev: Info},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			if got := checkInlineKeys(r, tt.lines); got != tt.wantUsable {
				t.Errorf("usable keys: got %d, want %d", got, tt.wantUsable)
			}
			if tt.wantSub == "" {
				if len(r.Findings) != 0 {
					t.Errorf("got\n%s\nwant no finding", dump(r))
				}
				return
			}
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
		})
	}
}
