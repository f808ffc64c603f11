package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// matrixCurl drives curl's sftp:// (libssh2): an upload (-T), a download and a
// directory listing, each a login of its own. --hostpubsha256 pins the ed25519 host
// key (the type libssh2 1.10 negotiates first), and the fresh HOME holds m.knownHosts
// as ~/.ssh/known_hosts, which curl also checks.
func matrixCurl(t *testing.T, m *matrixRun) (string, error) {
	sshDir := filepath.Join(m.home, ".ssh")
	if err := os.Mkdir(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sshDir, "known_hosts"), readFileString(t, m.knownHosts), 0o644)
	url := "sftp://127.0.0.1:" + strconv.Itoa(m.a.Port) + "/~/"
	curl := func(args ...string) sshResult {
		all := append([]string{"-sS", "--hostpubsha256", strings.TrimPrefix(m.hostKeyFingerprints[0], "SHA256:"),
			"--key", m.a.IDFile, "--pubkey", m.a.IDFile + ".pub", "-u", m.a.Account.Name + ":"}, args...)
		return runClient(t, clientRun{Name: "curl", Package: "curl", Args: all, Env: []string{"HOME=" + m.home}})
	}
	if err := clientError("curl -T", curl("-T", m.localUp, url+m.upRemote)); err != nil {
		return "", err
	}
	if err := clientError("curl -o", curl("-o", m.localDown, url+m.downRemote)); err != nil {
		return "", err
	}
	res := curl(url + m.rel + "/")
	return res.Stdout, clientError("curl (listing)", res)
}
