package testenv

import (
	"os"
	"testing"
)

// TestRequireRootFailsUnderIntegration: as an ordinary user with JOBSSHD_INTEGRATION=1,
// RequireRoot fails rather than skips; as root it lets the test run.
func TestRequireRootFailsUnderIntegration(t *testing.T) {
	t.Setenv(IntegrationEnv, "1")
	r := &recorder{TB: t}
	RequireRoot(r, "test")
	if os.Geteuid() == 0 {
		if r.failed || r.skipped {
			t.Errorf("as root: failed %v, skipped %v; want the test to run", r.failed, r.skipped)
		}
		return
	}
	if !r.failed || r.skipped {
		t.Errorf("as uid %d with %s=1: failed %v, skipped %v; want a failure", os.Geteuid(), IntegrationEnv, r.failed, r.skipped)
	}
}

// TestRequireRootSkipsWithoutIntegration: without JOBSSHD_INTEGRATION, an ordinary user
// skips.
func TestRequireRootSkipsWithoutIntegration(t *testing.T) {
	t.Setenv(IntegrationEnv, "")
	r := &recorder{TB: t}
	RequireRoot(r, "test")
	if want := os.Geteuid() != 0; r.skipped != want || r.failed {
		t.Errorf("as uid %d: skipped %v, failed %v; want skipped %v", os.Geteuid(), r.skipped, r.failed, want)
	}
}

// recorder records Fatalf and Skipf instead of stopping the test.
type recorder struct {
	testing.TB
	failed, skipped bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }

// TestRequireTool: a missing program skips, or fails under JOBSSHD_INTEGRATION=1; one
// in PATH is found.
func TestRequireTool(t *testing.T) {
	const missing = "jobsshd-no-such-program"
	for _, integration := range []string{"", "1"} {
		t.Setenv(IntegrationEnv, integration)
		r := &recorder{TB: t}
		RequireTool(r, missing, "none")
		if r.failed != (integration == "1") || r.skipped != (integration == "") {
			t.Errorf("%s=%q, %s missing: failed %v, skipped %v", IntegrationEnv, integration, missing, r.failed, r.skipped)
		}
	}
	r := &recorder{TB: t}
	if p := RequireTool(r, "sh", "dash"); p == "" || r.failed || r.skipped {
		t.Errorf("sh: got %q, failed %v, skipped %v; want its path", p, r.failed, r.skipped)
	}
}
