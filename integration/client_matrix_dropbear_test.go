package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// matrixDbclient drives Dropbear's dbclient: the command, then the files through `cat`
// (dbclient has no SFTP of its own). It reads only its own key format (dropbearconvert
// makes it from id_container) and checks the host key against ~/.ssh/known_hosts,
// where Dropbear 2022.83 looks the host up without the port.
func matrixDbclient(t *testing.T, m *matrixRun) (string, error) {
	requireTool(t, "dropbearconvert", "dropbear-bin")
	key := filepath.Join(t.TempDir(), "id_container.dropbear")
	runOrFatal(t, "dropbearconvert", "openssh", "dropbear", m.a.IDFile, key)
	sshDir := filepath.Join(m.home, ".ssh")
	if err := os.Mkdir(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	hosts := strings.ReplaceAll(readFileString(t, m.knownHosts), "[127.0.0.1]:"+strconv.Itoa(m.a.Port)+" ", "127.0.0.1 ")
	writeFile(t, filepath.Join(sshDir, "known_hosts"), hosts, 0o644)

	dbclient := func(command, stdin string) sshResult {
		args := []string{"-i", key, "-p", strconv.Itoa(m.a.Port), m.a.destination(), command}
		return runClientStdin(t, clientRun{Name: "dbclient", Package: "dropbear-bin", Args: args, Env: []string{"HOME=" + m.home}}, stdin)
	}
	res := dbclient(matrixCommand, os.DevNull)
	if res.ExitCode != matrixExitStatus {
		return res.Stdout, clientError("dbclient "+matrixCommand+" (want exit 3)", res)
	}
	if err := clientError("dbclient cat > "+m.upRemote, dbclient("cat > "+m.upRemote, m.localUp)); err != nil {
		return res.Stdout, err
	}
	down := dbclient("cat "+m.downRemote, os.DevNull)
	if err := clientError("dbclient cat "+m.downRemote, down); err != nil {
		return res.Stdout, err
	}
	return res.Stdout, os.WriteFile(m.localDown, []byte(down.Stdout), 0o644)
}
