package integration

import (
	"os"
	"strconv"
	"testing"
)

// matrixDbclient drives Dropbear's dbclient: the command, then the files through `cat`
// (dbclient has no SFTP of its own). It reads only its own key format (dropbearconvert
// makes it from id_container) and checks the host key against ~/.ssh/known_hosts,
// where Dropbear 2022.83 looks the host up without the port.
func matrixDbclient(t *testing.T, m *matrixRun) (string, error) {
	key := dbclientSetup(t, m.a, m.home, m.knownHosts)

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
