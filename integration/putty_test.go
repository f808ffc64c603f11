package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// plink runs PuTTY's plink non-interactively with the given host key fingerprints
// (plink 0.78 accepts "SHA256:..." for -hostkey). HOME is a fresh dir so no saved PuTTY
// session or host key cache takes part.
func plink(t *testing.T, a *agent, ppk string, hostKeys []string, command string) sshResult {
	t.Helper()
	requireTool(t, "plink", "putty-tools")
	args := []string{"-batch", "-ssh", "-P", strconv.Itoa(a.Port), "-i", ppk}
	for _, fp := range hostKeys {
		args = append(args, "-hostkey", fp)
	}
	args = append(args, a.Account.Name+"@127.0.0.1", command)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "plink", args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := sshResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("plink %s: no exit within %v (%s)", strings.Join(args, " "), clientTimeout, res)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run plink: %v", err)
	}
	return res
}

// TestPlinkPPK logs in with id_container.ppk through plink, verifying the host key
// against the fingerprints status.json reports.
func TestPlinkPPK(t *testing.T) {
	t.Parallel()
	for _, keyType := range []string{"ed25519", "rsa"} {
		t.Run(keyType, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, agentOptions{Args: []string{"--key-type", keyType}})
			var fingerprints []string
			for _, k := range a.Status.HostKeys {
				fingerprints = append(fingerprints, k.Fingerprint)
			}
			res := plink(t, a, a.IDFile+".ppk", fingerprints, "echo plink-$((40+2)); echo err >&2; exit 4")
			if res.ExitCode != 4 || res.Stdout != "plink-42\n" || !strings.Contains(res.Stderr, "err\n") {
				t.Errorf("plink with %s.ppk: got %s, want exit 4, stdout \"plink-42\\n\", stderr with \"err\"", a.IDFile, res)
			}
			// The fingerprint check above is real: a wrong one is refused.
			wrong := "SHA256:" + strings.Repeat("A", 43)
			if res := plink(t, a, a.IDFile+".ppk", []string{wrong}, "echo in"); res.ExitCode == 0 || res.Stdout != "" {
				t.Errorf("plink -hostkey %s (wrong): got %s, want a refusal", wrong, res)
			}
		})
	}
}

// TestPuttygenReadsPPK: puttygen converts id_container.ppk back to the key in
// id_container.pub.
func TestPuttygenReadsPPK(t *testing.T) {
	t.Parallel()
	requireTool(t, "puttygen", "putty-tools")
	a := startAgent(t, agentOptions{})
	out := runOrFatal(t, "puttygen", a.IDFile+".ppk", "-O", "public-openssh")
	if got, want := keyTypeAndBlob(t, out), readPublicKey(t, a.IDFile+".pub"); got != want {
		t.Errorf("puttygen %s.ppk -O public-openssh = %q, want %q (from .pub)", a.IDFile, got, want)
	}
}
