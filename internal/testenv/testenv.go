// Package testenv says whether the tests run where every test can run: as root, with
// the clients the README lists. A newcomer's `go test ./...` as an ordinary user, or
// without the clients, skips what needs them, saying why; CI (.ci/run) sets
// JOBSSHD_INTEGRATION=1, under which the same test fails instead, so that CI cannot
// pass without running it.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// IntegrationEnv is the variable that turns the integration tests on (integration/)
// and turns skips for missing root into failures.
const IntegrationEnv = "JOBSSHD_INTEGRATION"

// Integration reports whether IntegrationEnv is set to 1.
func Integration() bool { return os.Getenv(IntegrationEnv) == "1" }

// RequireRoot skips t unless it runs as root, saying why it needs root; with
// JOBSSHD_INTEGRATION=1 it fails t instead.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if Integration() {
		t.Fatalf("needs root (%s), and %s=1 asks for every test to run: run as root, or unset it", why, IntegrationEnv)
		return // Fatalf does not return; a testing.TB in a test of this package may
	}
	t.Skipf("needs root (%s); run as root to include it", why)
}

// RequireTool returns the path of the program name, which a test drives (a real client,
// a parser). When it is not installed it skips t, naming the Debian package that has it;
// with JOBSSHD_INTEGRATION=1 it fails t instead: a skipped compatibility test proves
// nothing.
func RequireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if Integration() {
		t.Fatalf("%s not found in PATH (apt-get install %s), and %s=1 asks for every test to run: %v", name, debianPackage, IntegrationEnv, err)
		return "" // Fatalf does not return; a testing.TB in a test of this package may
	}
	t.Skipf("%s not found in PATH (apt-get install %s to include this test): %v", name, debianPackage, err)
	return ""
}
