package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRefusedIDContainerServes: whatever the account leaves at ~/id_container — a
// symlink, a FIFO, garbage, a key others can write — the agent starts, leaves it as it
// is, serves authorized_keys logins, warns once with the fix and says in status.json
// that there is no id_container and why; a key others can only read (chmod 644, a
// common mistake) logs in, with a warning (issue 10 review, files 1). Through
// entrypoint.sh with JOBSSHD_REQUIRED=1, the job runs.
func TestRefusedIDContainerServes(t *testing.T) {
	t.Parallel()
	requireTool(t, "ssh-keygen", "openssh-client")
	acct := testAccount(t, "jobtest-idrefuse")
	akKey := newClientKey(t, "ak")
	writeAuthorizedKeys(t, acct, pub(t, akKey))
	secret := filepath.Join(t.TempDir(), "root-secret")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range refusedIDContainerCases(acct, secret) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			refusedIDContainerServes(t, acct, akKey, secret, tt)
		})
	}
}

// refusedIDCase is one thing the account may leave at ~/id_container.
type refusedIDCase struct {
	name       string
	setup      func(t *testing.T, path string)
	wantReason string // in id_file_problem; "" when id_container logs in
}

// refusedIDContainerCases: a symlink to secret, a FIFO, garbage, and keys of acct's
// that others may write or read.
func refusedIDContainerCases(acct account, secret string) []refusedIDCase {
	// userKey makes a key as ssh-keygen leaves it, the account's, with mode.
	userKey := func(t *testing.T, path string, mode os.FileMode) {
		runOrFatal(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path)
		for _, p := range []string{path, path + ".pub"} {
			if err := os.Chown(p, acct.UID, acct.GID); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	return []refusedIDCase{
		{"symlink", func(t *testing.T, path string) {
			if err := os.Symlink(secret, path); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink"},
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "a FIFO"},
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "restart jobsshd to have a new key generated"},
		{"writable by others", func(t *testing.T, path string) { userKey(t, path, 0o666) }, "may be written by group or others (mode 0666)"},
		{"readable by others", func(t *testing.T, path string) { userKey(t, path, 0o644) }, ""},
	}
}

// refusedIDContainerServes starts the agent on what tt leaves at id_container and
// checks that it serves, reports and leaves the file alone.
func refusedIDContainerServes(t *testing.T, acct account, akKey, secret string, tt refusedIDCase) {
	idFile := filepath.Join(accountTempDir(t, acct), "id_container")
	tt.setup(t, idFile)
	if err := os.Lchown(idFile, acct.UID, acct.GID); err != nil {
		t.Fatal(err)
	}
	before, err := os.Lstat(idFile)
	if err != nil {
		t.Fatal(err)
	}
	var beforeData []byte
	if before.Mode().IsRegular() {
		beforeData = readFileOrFatal(t, idFile)
	}

	a := startAgent(t, agentOptions{User: acct.Name, IDFile: idFile})
	if res := a.SSH(t, sshCall{Key: akKey, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("authorized_keys login: got %s, want exit 0", res)
	}
	checkIDContainerReport(t, a, idFile, tt.wantReason)

	// Left exactly as it was; the symlink's target untouched.
	after, err := os.Lstat(idFile)
	if err != nil || after.Mode() != before.Mode() ||
		after.Sys().(*syscall.Stat_t).Ino != before.Sys().(*syscall.Stat_t).Ino ||
		after.Sys().(*syscall.Stat_t).Uid != before.Sys().(*syscall.Stat_t).Uid {
		t.Errorf("id_container changed: before %v, after %v (%v)", before.Mode(), after, err)
	}
	if beforeData != nil && !bytes.Equal(readFileOrFatal(t, idFile), beforeData) {
		t.Error("id_container's content changed")
	}
	if got := readFileOrFatal(t, secret); string(got) != "root only\n" {
		t.Errorf("symlink target: got %q, want it untouched", got)
	}
	if tt.name == "symlink" {
		entrypointRunsWithRefusedID(t, acct, idFile)
	}
}

// checkIDContainerReport checks what the agent says about idFile in status.json, its
// logs and its connect text: a refusal naming wantReason, or (when it is "") a login with the key
// and a warning that says how to make it private.
func checkIDContainerReport(t *testing.T, a *agent, idFile, wantReason string) {
	t.Helper()
	var st struct {
		IDFile        string `json:"id_file"`
		IDFileMissing bool   `json:"id_file_missing"`
		IDFileProblem string `json:"id_file_problem"`
	}
	b := readFileOrFatal(t, filepath.Join(a.StateDir, "status.json"))
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	logs := a.Logs()
	if wantReason == "" {
		// chmod 644: the key logs in, and the agent says how to make it private.
		clientKey := filepath.Join(t.TempDir(), "id")
		copyFile(t, idFile, clientKey, 0o600)
		if res := a.SSH(t, sshCall{Key: clientKey, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
			t.Errorf("login with a world-readable id_container: got %s, want exit 0", res)
		}
		if st.IDFileMissing || st.IDFileProblem != "" {
			t.Errorf("status.json: got %s, want no id_file_missing", b)
		}
		if strings.Count(logs, "id_container readable by others") != 1 || !strings.Contains(logs, "chmod 600 "+idFile) {
			t.Errorf("want one warning with the fix (chmod 600 %s):\n%s", idFile, logs)
		}
	} else {
		if !st.IDFileMissing || !strings.Contains(st.IDFileProblem, wantReason) || !strings.Contains(st.IDFileProblem, idFile) || st.IDFile != idFile {
			t.Errorf("status.json: got %s, want id_file_missing and a reason with %q", b, wantReason)
		}
		if n := strings.Count(logs, `msg="no id_container"`); n != 1 {
			t.Errorf("got %d warnings about id_container, want 1:\n%s", n, logs)
		}
		if out := a.Logs(); !strings.Contains(out, "There is no id_container key") || strings.Contains(out, "ssh -i id_container") {
			t.Errorf("connect info: want it to say there is no id_container and not offer it:\n%s", out)
		}
		for _, derived := range []string{idFile + ".ppk"} {
			if _, err := os.Lstat(derived); err == nil {
				t.Errorf("%s was written from a refused key", derived)
			}
		}
	}
}

// entrypointRunsWithRefusedID: the same home through entrypoint.sh with
// JOBSSHD_REQUIRED=1: the job runs.
func entrypointRunsWithRefusedID(t *testing.T, acct account, idFile string) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir := t.TempDir()
		env := []string{
			"JOBSSHD_ENABLE=1", "JOBSSHD_REQUIRED=1",
			"JOBSSHD_BIN=" + binPath,
			"JOBSSHD_PORT=0",
			"JOBSSHD_BIND=127.0.0.1",
			"JOBSSHD_STATE_DIR=" + t.TempDir(),
			"JOBSSHD_USER=" + acct.Name,
			"JOBSSHD_ID_FILE=" + idFile,
		}
		r := startEntrypoint(t, sh, env, nil, `: >"$1/ran"`, dir)
		if got := r.wait(t); got != 0 {
			t.Errorf("entrypoint exit %d, want the job's 0\nstderr:\n%s", got, r.stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
			t.Errorf("the job did not run: %v\nstderr:\n%s", err, r.stderr.String())
		}
	})
}
