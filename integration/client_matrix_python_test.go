package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
)

// matrixPython runs testdata/SCRIPT (paramiko_matrix.py or asyncssh_matrix.py) with
// Debian's python3: the command, an SFTP put and an SFTP get, host key checked against
// m.knownHosts.
func matrixPython(script string) func(t *testing.T, m *matrixRun) (string, error) {
	return func(t *testing.T, m *matrixRun) (string, error) {
		path, err := filepath.Abs(filepath.Join("testdata", script))
		if err != nil {
			t.Fatal(err)
		}
		args := []string{path, "127.0.0.1", strconv.Itoa(m.a.Port), m.a.Account.Name, m.a.IDFile, m.knownHosts,
			matrixCommand, m.localUp, m.upRemote, m.downRemote, m.localDown}
		res := runClient(t, clientRun{Name: debianPython, Package: "python3", Args: args, Env: []string{"HOME=" + m.home}})
		if err := clientError(script, res); err != nil {
			return "", err
		}
		var out struct {
			Stdout     string `json:"stdout"`
			ExitStatus int    `json:"exit_status"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			return "", fmt.Errorf("%s printed no JSON result: %v (%s)", script, err, res)
		}
		if out.ExitStatus != matrixExitStatus {
			return out.Stdout, fmt.Errorf("%s: exit status %d, want %d", script, out.ExitStatus, matrixExitStatus)
		}
		return out.Stdout, nil
	}
}
