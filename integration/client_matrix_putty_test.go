package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// matrixPuTTYArgs are plink's and psftp's options: no prompts, id_container.ppk, and
// only the host keys with m's fingerprints accepted (PuTTY 0.78 takes "SHA256:..." for
// -hostkey); HOME is a fresh dir, so no saved session or host key cache takes part.
func matrixPuTTYArgs(m *matrixRun, portFlag string) []string {
	args := []string{"-batch", "-i", m.a.IDFile + ".ppk", portFlag, strconv.Itoa(m.a.Port)}
	for _, fp := range m.hostKeyFingerprints {
		args = append(args, "-hostkey", fp)
	}
	return args
}

func matrixPlink(t *testing.T, m *matrixRun) (string, error) {
	plink := func(command, stdin string) sshResult {
		args := append(matrixPuTTYArgs(m, "-P"), "-ssh", m.a.destination(), command)
		return runClientStdin(t, clientRun{Name: "plink", Package: "putty-tools", Args: args, Env: []string{"HOME=" + m.home}}, stdin)
	}
	res := plink(matrixCommand, "")
	if res.ExitCode != matrixExitStatus {
		return res.Stdout, clientError("plink "+matrixCommand+" (want exit 3)", res)
	}
	if err := clientError("plink cat > "+m.upRemote, plink("cat > "+m.upRemote, m.localUp)); err != nil {
		return res.Stdout, err
	}
	down := plink("cat "+m.downRemote, "")
	if err := clientError("plink cat "+m.downRemote, down); err != nil {
		return res.Stdout, err
	}
	return res.Stdout, os.WriteFile(m.localDown, []byte(down.Stdout), 0o644)
}

func matrixPSFTP(t *testing.T, m *matrixRun) (string, error) {
	batch := writeTempFile(t, "batch", strings.Join([]string{
		"put " + m.localUp + " " + m.upRemote,
		"get " + m.downRemote + " " + m.localDown,
		"ls " + m.rel,
		"",
	}, "\n"))
	args := append(matrixPuTTYArgs(m, "-P"), "-b", batch, "-bc", m.a.destination())
	res := runClient(t, clientRun{Name: "psftp", Package: "putty-tools", Args: args, Env: []string{"HOME=" + m.home}})
	return res.Stdout, clientError("psftp -b", res)
}
