package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// account is a local account the agent serves.
type account struct {
	Name     string
	UID, GID int
	Home     string
	Groups   []int // supplementary groups, as the kernel reports them for the user
}

var accountMu sync.Mutex // useradd/groupadd lock /etc/passwd; serialize them

// supplementaryGroup is a group every test account belongs to, so tests can check that
// sessions get the account's supplementary groups and not just its primary group.
const supplementaryGroup = "jobtest-sup"

// testAccount returns the named account, creating it (home, /bin/bash, locked password,
// member of supplementaryGroup) when it does not exist yet.
func testAccount(t *testing.T, name string) account {
	t.Helper()
	accountMu.Lock()
	defer accountMu.Unlock()
	if _, err := exec.Command("getent", "group", supplementaryGroup).Output(); err != nil {
		runOrFatal(t, "groupadd", supplementaryGroup)
	}
	if _, err := exec.Command("id", "-u", name).Output(); err != nil {
		runOrFatal(t, "useradd", "-m", "-s", "/bin/bash", "-G", supplementaryGroup, name)
	}
	groups := strings.Fields(runOrFatal(t, "id", "-Gn", name))
	if !slices.Contains(groups, supplementaryGroup) {
		runOrFatal(t, "usermod", "-aG", supplementaryGroup, name)
	}
	fields := strings.Split(strings.TrimSpace(runOrFatal(t, "getent", "passwd", name)), ":")
	if len(fields) != 7 {
		t.Fatalf("getent passwd %s: malformed entry %q", name, fields)
	}
	a := account{Name: name, Home: fields[5]}
	a.UID = atoiOrFatal(t, fields[2])
	a.GID = atoiOrFatal(t, fields[3])
	for _, g := range strings.Fields(runOrFatal(t, "id", "-G", name)) {
		a.Groups = append(a.Groups, atoiOrFatal(t, g))
	}
	return a
}

func runOrFatal(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func atoiOrFatal(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("parse %q as a number: %v", s, err)
	}
	return n
}

// traversableTempDir is a t.TempDir that every account can enter (t.TempDir's parents
// are 0700), for files a session of the served account must reach.
func traversableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// accountTempDir is a temp dir owned by acct, like the home directory where id_container
// lives by default: the agent creates the key files with the account's identity.
func accountTempDir(t *testing.T, acct account) string {
	t.Helper()
	dir := traversableTempDir(t)
	if err := os.Chown(dir, acct.UID, acct.GID); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testAccountLookup returns an existing account (not created, not changed).
func testAccountLookup(t *testing.T, name string) account {
	t.Helper()
	f := strings.Split(strings.TrimSpace(runOrFatal(t, "getent", "passwd", name)), ":")
	if len(f) != 7 {
		t.Fatalf("getent passwd %s: %q", name, f)
	}
	return account{Name: name, UID: atoiOrFatal(t, f[2]), GID: atoiOrFatal(t, f[3]), Home: f[5]}
}
