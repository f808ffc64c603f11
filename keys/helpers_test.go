package keys

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"jobsshd/internal/testenv"
)

// requireTool returns the path of a client tool the tests drive. A missing tool skips
// the test, or fails it under JOBSSHD_INTEGRATION=1 (CI), which installs them: a
// skipped compatibility test proves nothing.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	return testenv.RequireTool(t, name, map[string]string{"puttygen": "putty-tools", "ssh-keygen": "openssh-client"}[name])
}

// testAccount is the account the file-permission tests serve: an unprivileged uid
// that is not the test's own when the tests run as root (as in CI), else the test's
// own uid.
func testAccount(t *testing.T) (uid, gid int) {
	t.Helper()
	if os.Geteuid() == 0 {
		return 4242, 4243
	}
	return os.Getuid(), os.Getgid()
}

// needRoot skips a test that must create files owned by other accounts.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "to create files owned by other accounts")
}

// makeHome builds base/home/.ssh owned by uid:gid (home and .ssh 0700) in a fresh
// temporary directory whose ancestors the account can search, and returns base and
// home.
func makeHome(t *testing.T, uid, gid int) (base, home string) {
	t.Helper()
	base = t.TempDir()
	// testing creates the per-test parent 0700; the account must be able to search
	// every directory above its home, as on a real system.
	for _, d := range []string{filepath.Dir(base), base} {
		chmod(t, d, 0o755)
	}
	home = filepath.Join(base, "home")
	mkdirOwned(t, home, 0o700, uid, gid)
	mkdirOwned(t, filepath.Join(home, ".ssh"), 0o700, uid, gid)
	return base, home
}

func mkdirOwned(t *testing.T, dir string, mode os.FileMode, uid, gid int) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	chown(t, dir, uid, gid)
	chmod(t, dir, mode)
}

func writeOwned(t *testing.T, path string, data []byte, mode os.FileMode, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	chown(t, path, uid, gid)
	chmod(t, path, mode)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func fileOwnerOf(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// recordingHandler is a slog.Handler that keeps every record, for tests of what is
// logged and how often.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// count returns how many records at level have message msg.
func (h *recordingHandler) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}
