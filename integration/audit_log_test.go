package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// logRecords parses the agent's log, which --log-format json makes one JSON object a
// line; a line that is not one fails the test.
func logRecords(t *testing.T, a *agent) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(a.Logs(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("agent log line is not a JSON object: %v\n%s", err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

// logRecord waits up to 5 seconds for a record of event with the fields of want (as
// fmt.Sprint compares them; numbers are given as int64 and read as float64, so they are
// compared as integers) and returns it; it fails the test when there is none.
func logRecord(t *testing.T, a *agent, event string, want map[string]any) map[string]any {
	t.Helper()
	var found map[string]any
	match := func(rec map[string]any) bool {
		if rec["event"] != event {
			return false
		}
		for k, v := range want {
			got, ok := rec[k]
			if f, isNum := got.(float64); isNum {
				got = int64(f)
			}
			if !ok || fmt.Sprint(got) != fmt.Sprint(v) {
				return false
			}
		}
		return true
	}
	testwait.Until(5*time.Second, func() bool {
		for _, rec := range logRecords(t, a) {
			if match(rec) {
				found = rec
				return true
			}
		}
		return false
	})
	if found == nil {
		t.Fatalf("the agent log has no %s record with %v", event, want)
	}
	return found
}

// TestAuditLogJSON: with --log-format json every line of the agent's log is a JSON
// object, and the file operations of OpenSSH sftp and legacy scp are there as events
// with the account, the client's address, the absolute path and the byte counts.
func TestAuditLogJSON(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Args: []string{"--log-format", "json"}})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	const size = 300007
	writeRandomFile(t, filepath.Join(local, "up.bin"), size, 5, 0o644)

	res := a.sftpBatch(t, strings.Join([]string{
		"cd " + rel,
		"put " + filepath.Join(local, "up.bin") + " up.bin",
		"get up.bin " + filepath.Join(local, "back.bin"),
		"rename up.bin renamed.bin",
		"mkdir made",
		"rmdir made",
		"rm renamed.bin",
		"",
	}, "\n"))
	if res.ExitCode != 0 {
		t.Fatalf("sftp -b: %s, want exit 0", res)
	}
	requireSameContent(t, filepath.Join(local, "up.bin"), filepath.Join(local, "back.bin"))
	if res := a.scp(t, "-O", filepath.Join(local, "up.bin"), a.remote(rel+"/scp.bin")); res.ExitCode != 0 {
		t.Fatalf("scp -O upload: %s, want exit 0", res)
	}
	if res := a.scp(t, "-O", a.remote(rel+"/scp.bin"), filepath.Join(local, "scp.back")); res.ExitCode != 0 {
		t.Fatalf("scp -O download: %s, want exit 0", res)
	}
	requireSameContent(t, filepath.Join(local, "up.bin"), filepath.Join(local, "scp.back"))

	user := a.Account.Name
	sftp := map[string]any{"user": user, "session": "sftp"}
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	up, renamed, made := filepath.Join(abs, "up.bin"), filepath.Join(abs, "renamed.bin"), filepath.Join(abs, "made")
	open := logRecord(t, a, "file.open", with(sftp, "path", up, "mode", "write"))
	if remote, _ := open["remote"].(string); !strings.HasPrefix(remote, "127.0.0.1:") {
		t.Errorf("file.open remote = %q, want the client's 127.0.0.1 address", remote)
	}
	logRecord(t, a, "file.close", with(sftp, "path", up, "mode", "write", "bytes_written", int64(size), "bytes_read", int64(0)))
	logRecord(t, a, "file.open", with(sftp, "path", up, "mode", "read"))
	logRecord(t, a, "file.close", with(sftp, "path", up, "mode", "read", "bytes_read", int64(size), "bytes_written", int64(0)))
	logRecord(t, a, "file.rename", with(sftp, "path", up, "new_path", renamed))
	logRecord(t, a, "file.mkdir", with(sftp, "path", made))
	logRecord(t, a, "file.rmdir", with(sftp, "path", made))
	logRecord(t, a, "file.remove", with(sftp, "path", renamed))
	logRecord(t, a, "session.start", with(sftp, "pty", false))
	logRecord(t, a, "session.end", with(sftp, "exit", int64(0)))

	scp := map[string]any{"user": user, "session": "scp"}
	scpFile := filepath.Join(abs, "scp.bin")
	logRecord(t, a, "file.open", with(scp, "path", scpFile, "mode", "write"))
	logRecord(t, a, "file.close", with(scp, "path", scpFile, "mode", "write", "bytes_written", int64(size)))
	logRecord(t, a, "file.close", with(scp, "path", scpFile, "mode", "read", "bytes_read", int64(size)))
	start := logRecord(t, a, "session.start", scp)
	if cmd, _ := start["command"].(string); !strings.HasPrefix(cmd, "scp ") {
		t.Errorf("session.start of scp: command = %q, want the scp command line", cmd)
	}
	logRecord(t, a, "session.end", with(scp, "exit", int64(0)))

	login := logRecord(t, a, "auth.accept", map[string]any{"user": user})
	if key, _ := login["key"].(string); !strings.HasPrefix(key, "SHA256:") {
		t.Errorf("auth.accept key = %q, want a SHA256 fingerprint", key)
	}
	t.Log(a.Logs())
	logRecord(t, a, "connection.open", map[string]any{"remote": login["remote"]})
	if rec := logRecord(t, a, "connection.close", map[string]any{"user": user}); rec["duration"] == nil {
		t.Errorf("connection.close = %v, want a duration", rec)
	}
}

// TestAuditLogClientKilled: an upload cut off by a killed client still gets its
// file.close, with the bytes that arrived, in the agent's log (text format): the
// transfer program reports the files it had open when its input ends.
func TestAuditLogClientKilled(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	big := filepath.Join(local, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(16 << 30); err != nil { // sparse: minutes to transfer
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(local, "batch")
	writeFile(t, batch, "put "+big+" "+rel+"/sftp.bin\n", 0o600)
	copyOpts := hermeticCopyOptions(a.IDFile, a.Port)
	tests := []struct {
		name, session, remote string
		args                  []string
	}{
		{"sftp put", "sftp", "sftp.bin", append(append([]string{"sftp", "-b", batch}, copyOpts...), a.destination())},
		{"scp legacy upload", "scp", "scp.bin", append(append([]string{"scp", "-O"}, copyOpts...), big, a.remote(rel+"/scp.bin"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireTool(t, tt.args[0], "openssh-client")
			cmd := exec.Command(tt.args[0], tt.args[1:]...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to kill ssh with it
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			remote := filepath.Join(abs, tt.remote)
			growing := testwait.Until(20*time.Second, func() bool {
				fi, err := os.Stat(remote)
				return err == nil && fi.Size() > 1<<20
			})
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the test fails below if it had ended
			err := cmd.Wait()
			if !growing {
				t.Fatalf("%s did not start uploading within 20s (%v):\n%s", tt.name, err, out.String())
			}
			if !testwait.Until(10*time.Second, func() bool {
				return strings.Contains(a.Logs(), "event=file.close path="+remote+" ")
			}) {
				t.Fatalf("no file.close for %s in the agent log after the client was killed", remote)
			}
			for _, line := range strings.Split(a.Logs(), "\n") {
				if !strings.Contains(line, "event=file.close path="+remote+" ") {
					continue
				}
				if !strings.Contains(line, "session="+tt.session) || strings.Contains(line, "bytes_written=0 ") || !strings.Contains(line, "bytes_written=") {
					t.Errorf("file.close after the kill: %s\nwant session=%s and the bytes that arrived", line, tt.session)
				}
			}
		})
	}
}
