package integration

import (
	"path/filepath"
	"strconv"
	"testing"
)

// matrixRclone drives rclone's sftp backend (Go's x/crypto/ssh client) as an on-the-fly
// remote (":sftp:") configured by flags alone: no config file in the home. It checks the
// host key against m.knownHosts, runs its own shell detection and hash commands over
// exec, and copies both ways.
func matrixRclone(t *testing.T, m *matrixRun) (string, error) {
	rclone := func(args ...string) sshResult {
		all := append([]string{
			"--config", filepath.Join(m.home, "no-rclone.conf"), // never created
			"--sftp-host", "127.0.0.1", "--sftp-port", strconv.Itoa(m.a.Port),
			"--sftp-user", m.a.Account.Name, "--sftp-key-file", m.a.IDFile,
			"--sftp-known-hosts-file", m.knownHosts,
			"--contimeout", "10s", "--retries", "1", "--low-level-retries", "1",
		}, args...)
		return runClient(t, clientRun{Name: "rclone", Package: "rclone", Args: all, Env: []string{"HOME=" + m.home}})
	}
	if err := clientError("rclone copyto (up)", rclone("copyto", m.localUp, ":sftp:"+m.upRemote)); err != nil {
		return "", err
	}
	if err := clientError("rclone copyto (down)", rclone("copyto", ":sftp:"+m.downRemote, m.localDown)); err != nil {
		return "", err
	}
	res := rclone("lsf", ":sftp:"+m.rel)
	return res.Stdout, clientError("rclone lsf", res)
}
