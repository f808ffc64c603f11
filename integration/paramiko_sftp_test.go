package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// paramikoAttrs is an SFTPAttributes as testdata/paramiko_sftp.py prints it.
type paramikoAttrs struct {
	Mode  uint32  `json:"mode"`
	Size  int64   `json:"size"`
	UID   int     `json:"uid"`
	GID   int     `json:"gid"`
	MTime float64 `json:"mtime"`
}

// paramikoError is an IOError the script expected: errno and message.
type paramikoError struct {
	Errno   int    `json:"errno"`
	Message string `json:"message"`
}

// paramikoSFTPResult is what testdata/paramiko_sftp.py prints.
type paramikoSFTPResult struct {
	StartDir           string                   `json:"start_dir"`
	Put                paramikoAttrs            `json:"put"`
	Listdir            map[string]paramikoAttrs `json:"listdir"`
	StatAfterChmod     paramikoAttrs            `json:"stat_after_chmod"`
	StatAfterRename    paramikoAttrs            `json:"stat_after_rename"`
	OldNameAfterRename *paramikoError           `json:"old_name_after_rename"`
	StatAfterRemove    *paramikoError           `json:"stat_after_remove"`
	RemoveMissing      *paramikoError           `json:"remove_missing"`
	ENOENT             int                      `json:"enoent"`
	IsDirSub           bool                     `json:"is_dir_sub"`
}

// TestParamikoSFTP: paramiko's SFTPClient (2.x, what many platform SDKs embed) puts,
// gets, lists, chmods, stats, renames and removes.
func TestParamikoSFTP(t *testing.T) {
	t.Parallel()
	if err := paramikoCheck(); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	orig, back := filepath.Join(local, "orig.bin"), filepath.Join(local, "back.bin")
	const size = 5<<20 + 11
	writeRandomFile(t, orig, size, 5, 0o644)

	script, err := filepath.Abs(filepath.Join("testdata", "paramiko_sftp.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, script, "127.0.0.1", strconv.Itoa(a.Port), a.Account.Name, a.IDFile, rel, orig, back)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("paramiko_sftp.py: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var res paramikoSFTPResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("paramiko_sftp.py output is not the expected JSON: %v\n%s", err, stdout.String())
	}

	if res.StartDir != a.Account.Home {
		t.Errorf("normalize(\".\") at start = %q, want the home %q", res.StartDir, a.Account.Home)
	}
	if res.Put.Size != size {
		t.Errorf("put: stat size %d, want %d", res.Put.Size, size)
	}
	requireSameContent(t, orig, back)
	up, ok := res.Listdir["up.bin"]
	if !ok || up.Size != size || up.UID != a.Account.UID || up.GID != a.Account.GID {
		t.Errorf("listdir_attr: up.bin = %+v (listed: %v), want size %d owned by %d:%d", up, ok, size, a.Account.UID, a.Account.GID)
	}
	if sub, ok := res.Listdir["sub"]; !ok || sub.Mode&0o170000 != 0o040000 || sub.Mode&0o7777 != 0o700 {
		t.Errorf("listdir_attr: sub = %+v (listed: %v), want a directory with mode 0700 (mkdir(\"sub\", 0o700))", sub, ok)
	}
	if len(res.Listdir) != 2 {
		t.Errorf("listdir_attr lists %v, want exactly up.bin and sub (no . or ..)", res.Listdir)
	}
	if got := res.StatAfterChmod.Mode & 0o7777; got != 0o750 {
		t.Errorf("stat after chmod 0o750: mode %#o, want 0o750", got)
	}
	if res.StatAfterRename.Size != size || res.StatAfterRename.Mode&0o7777 != 0o750 {
		t.Errorf("stat of the renamed file: %+v, want size %d and mode 0o750", res.StatAfterRename, size)
	}
	for what, e := range map[string]*paramikoError{
		"stat of the old name after rename": res.OldNameAfterRename,
		"stat after remove":                 res.StatAfterRemove,
		"remove of a missing file":          res.RemoveMissing,
	} {
		if e == nil || e.Errno != res.ENOENT {
			t.Errorf("%s: error %+v, want errno ENOENT (%d)", what, e, res.ENOENT)
		}
	}
	if !res.IsDirSub {
		t.Errorf("stat(\"sub\") is not a directory")
	}
	requireSameContent(t, orig, filepath.Join(abs, "sub", "moved.bin"))
	requireSameContent(t, orig, filepath.Join(abs, "sub", "kept.bin"))
	for _, gone := range []string{"up.bin", "gone.bin"} {
		if _, err := os.Lstat(filepath.Join(abs, gone)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it gone", gone, err)
		}
	}
	requireOwnedBy(t, abs, a.Account)
}
