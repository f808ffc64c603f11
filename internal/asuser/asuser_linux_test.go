package asuser

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"jobsshd/internal/testenv"
)

// nobody is the account the tests act as; it needs no entry in /etc/passwd.
const nobody = 65534

// sharedDir is a directory every account can enter, holding one owned by nobody.
func sharedDir(t *testing.T) (base, nobodys string) {
	t.Helper()
	base, err := os.MkdirTemp("", "asuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	nobodys = filepath.Join(base, "nobody")
	if err := os.Mkdir(nobodys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(nobodys, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return base, nobodys
}

func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "to act as another account; TestDoWithoutRoot covers the case without")
}

func TestDoFilesBelongToAccount(t *testing.T) {
	t.Parallel()
	needRoot(t)
	base, nobodys := sharedDir(t)
	rootOnly := filepath.Join(base, "root-only")
	if err := os.Mkdir(rootOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		wantErr  error
		wantUID  int
		wantGID  int
		wantFile bool
	}{
		{name: "own directory", path: filepath.Join(nobodys, "f"), wantUID: nobody, wantGID: nobody, wantFile: true},
		{name: "root's directory", path: filepath.Join(rootOnly, "f"), wantErr: fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Do(nobody, nobody, []int{nobody}, func() error {
				f, err := os.Create(tt.path)
				if err != nil {
					return err
				}
				return f.Close()
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			st, err := os.Lstat(tt.path)
			if gotFile := err == nil; gotFile != tt.wantFile {
				t.Fatalf("got file %v (%v), want %v", gotFile, err, tt.wantFile)
			}
			if !tt.wantFile {
				return
			}
			sys := st.Sys().(*syscall.Stat_t)
			if int(sys.Uid) != tt.wantUID || int(sys.Gid) != tt.wantGID {
				t.Errorf("got owner %d:%d, want %d:%d", sys.Uid, sys.Gid, tt.wantUID, tt.wantGID)
			}
		})
	}
}

// TestDoSocketPeerIsAccount pins why Do switches the effective uid and not only the
// filesystem uid: a daemon behind a unix socket must see the account, not root.
func TestDoSocketPeerIsAccount(t *testing.T) {
	t.Parallel()
	needRoot(t)
	base, _ := sharedDir(t)
	path := filepath.Join(base, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	var client net.Conn
	if err := Do(nobody, nobody, nil, func() error {
		var err error
		client, err = net.Dial("unix", path)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	raw, err := server.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		t.Fatal(err)
	}
	if credErr != nil {
		t.Fatal(credErr)
	}
	if cred.Uid != nobody || cred.Gid != nobody {
		t.Errorf("got peer uid %d gid %d, want %d %d", cred.Uid, cred.Gid, nobody, nobody)
	}
}

// TestDoLeavesOtherThreadsRoot runs many Do calls at once and checks that the agent's
// own goroutines never observe the account's identity, during or after.
func TestDoLeavesOtherThreadsRoot(t *testing.T) {
	t.Parallel()
	needRoot(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 100 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- Do(nobody, nobody, nil, func() error {
				if got := effectiveIDs(); got != [2]int{nobody, nobody} {
					return errors.New("fn does not run as the account")
				}
				return nil
			})
		}()
		go func() {
			defer wg.Done()
			if got := effectiveIDs(); got != [2]int{0, os.Getegid()} {
				errs <- errors.New("a goroutine outside Do ran with another identity")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := effectiveIDs(); got[0] != 0 {
		t.Errorf("got euid %d after Do, want 0", got[0])
	}
}

func TestDoWithoutRoot(t *testing.T) {
	t.Parallel()
	self := os.Geteuid()
	ran := false
	if err := Do(self, os.Getegid(), nil, func() error { ran = true; return nil }); err != nil || !ran {
		t.Errorf("Do as the current uid: got ran %v, error %v; want ran, nil", ran, err)
	}
	if self == 0 {
		return // root may act as anyone: the refusal below is for other users
	}
	if err := Do(self+1, self+1, nil, func() error { return nil }); err == nil {
		t.Errorf("Do as uid %d from uid %d: got nil, want an error", self+1, self)
	}
}
