package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// matrixOpenSSHOptions are hermeticSSHOptions with the host key checked against
// m.knownHosts instead of switched off; portFlag is -p for ssh, -P for sftp and scp.
func matrixOpenSSHOptions(m *matrixRun, portFlag string) []string {
	return []string{
		"-F", "/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + m.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10",
		"-i", m.a.IDFile,
		portFlag, strconv.Itoa(m.a.Port),
	}
}

// matrixSSH runs the command, then moves the files through `cat` over exec requests
// (what scripts without sftp do).
func matrixSSH(t *testing.T, m *matrixRun) (string, error) {
	ssh := func(command, stdin string) sshResult {
		args := append(matrixOpenSSHOptions(m, "-p"), m.a.destination(), command)
		return runClientStdin(t, clientRun{Name: "ssh", Package: "openssh-client", Args: args, Env: []string{"HOME=" + m.home}}, stdin)
	}
	res := ssh(matrixCommand, "")
	if res.ExitCode != matrixExitStatus {
		return res.Stdout, clientError("ssh "+matrixCommand+" (want exit 3)", res)
	}
	if err := clientError("ssh cat > "+m.upRemote, ssh("cat > "+m.upRemote, m.localUp)); err != nil {
		return res.Stdout, err
	}
	down := ssh("cat "+m.downRemote, "")
	if err := clientError("ssh cat "+m.downRemote, down); err != nil {
		return res.Stdout, err
	}
	return res.Stdout, os.WriteFile(m.localDown, []byte(down.Stdout), 0o644)
}

func matrixSFTP(t *testing.T, m *matrixRun) (string, error) {
	batch := strings.Join([]string{
		"put " + m.localUp + " " + m.upRemote,
		"get " + m.downRemote + " " + m.localDown,
		"ls -1 " + m.rel,
		"",
	}, "\n")
	file := writeTempFile(t, "batch", batch)
	args := append(matrixOpenSSHOptions(m, "-P"), "-b", file, m.a.destination())
	res := runClient(t, clientRun{Name: "sftp", Package: "openssh-client", Args: args, Env: []string{"HOME=" + m.home}})
	return res.Stdout, clientError("sftp -b", res)
}

// matrixSCP copies both ways with scp and flags (-O: the legacy protocol); its listing
// is an `ls` over ssh, since scp has none.
func matrixSCP(flags []string) func(t *testing.T, m *matrixRun) (string, error) {
	return func(t *testing.T, m *matrixRun) (string, error) {
		scp := func(from, to string) error {
			args := append(append(matrixOpenSSHOptions(m, "-P"), flags...), from, to)
			return clientError("scp "+strings.Join(flags, " ")+" "+from+" "+to,
				runClient(t, clientRun{Name: "scp", Package: "openssh-client", Args: args, Env: []string{"HOME=" + m.home}}))
		}
		if err := scp(m.localUp, m.a.remote(m.upRemote)); err != nil {
			return "", err
		}
		if err := scp(m.a.remote(m.downRemote), m.localDown); err != nil {
			return "", err
		}
		args := append(matrixOpenSSHOptions(m, "-p"), m.a.destination(), "ls "+m.rel)
		res := runClient(t, clientRun{Name: "ssh", Package: "openssh-client", Args: args, Env: []string{"HOME=" + m.home}})
		return res.Stdout, clientError("ssh ls", res)
	}
}

// matrixLftp drives lftp's sftp:// (lftp starts ssh itself: its connect-program, here
// with the same checked host key) through a put, a get and a listing. lftp retries a
// failed connection for ever by default; one try is enough here.
func matrixLftp(t *testing.T, m *matrixRun) (string, error) {
	opts := matrixOpenSSHOptions(m, "-p")
	opts = opts[:len(opts)-2] // lftp passes the port itself
	connect := "ssh -a -x " + strings.Join(opts, " ")
	script := strings.Join([]string{
		"set cmd:fail-exit yes",
		"set net:max-retries 1",
		"set net:timeout 20",
		"set sftp:connect-program '" + connect + "'",
		"open -u " + m.a.Account.Name + ", -p " + strconv.Itoa(m.a.Port) + " sftp://127.0.0.1",
		"put " + m.localUp + " -o " + m.upRemote,
		"get " + m.downRemote + " -o " + m.localDown,
		"cls -1 " + m.rel + "/",
	}, "; ")
	res := runClient(t, clientRun{Name: "lftp", Package: "lftp", Args: []string{"-c", script}, Env: []string{"HOME=" + m.home}})
	return res.Stdout, clientError("lftp -c", res)
}
