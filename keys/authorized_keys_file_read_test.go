package keys

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"
)

// TestAuthorizedKeysFileRead: Read sees what Keys sees, returns the ignored lines
// instead of logging them, and tells a missing file apart.
func TestAuthorizedKeysFileRead(t *testing.T) {
	fx := newAuthorizedKeysFixture(t)
	if _, _, err := fx.f.Read(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: got %v, want fs.ErrNotExist", err)
	}

	fx.write("# comment\n" + bobKey + "\nssh-ed25519 AAAAnotbase64!\n")
	keys, lineErrs, err := fx.f.Read()
	if err != nil || len(keys) != 1 || len(lineErrs) != 1 || lineErrs[0].Line != 3 {
		t.Fatalf("got %d keys, line errors %v, error %v; want 1 key and line 3 rejected", len(keys), lineErrs, err)
	}
	fx.log.mu.Lock()
	logged := len(fx.log.records)
	fx.log.mu.Unlock()
	if logged != 0 {
		t.Errorf("Read logged %d records, want none", logged)
	}
	fx.keys(1, nil)

	chmod(t, fx.path, 0o666)
	if _, _, err := fx.f.Read(); !errors.Is(err, ErrStrictModes) {
		t.Errorf("world-writable file: got %v, want ErrStrictModes", err)
	}

	// A FIFO is judged by the opened file's fstat, and never read (nor waited on).
	if err := syscall.Unlink(fx.path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fx.path, 0o600); err != nil {
		t.Fatal(err)
	}
	chown(t, fx.path, fx.uid, fx.gid)
	if _, _, err := fx.f.Read(); !errors.Is(err, ErrStrictModes) {
		t.Errorf("FIFO: got %v, want ErrStrictModes", err)
	}
}
