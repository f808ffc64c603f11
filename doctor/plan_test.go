package doctor

import (
	"errors"
	"os"
	"testing"

	"jobsshd/agent"
)

// planErrorCases are configurations serve refuses to start with (exit 2).
var planErrorCases = map[string]func(*agent.Config){
	"algorithms":           func(c *agent.Config) { c.Algorithms = "bogus" },
	"key type":             func(c *agent.Config) { c.KeyType = "dsa" },
	"no state directory":   func(c *agent.Config) { c.StateDir = "" },
	"job hosts, no secret": func(c *agent.Config) { c.JobHosts = []string{"w-0"} },
	"missing trusted CA":   func(c *agent.Config) { c.TrustedUserCAFiles = []string{"/nonexistent/ca.pub"} },
	"no such account":      func(c *agent.Config) { c.User = "nobody-here" },
	"both job key and secret": func(c *agent.Config) {
		c.JobKeyFile, c.JobSecret = "/nonexistent/key", []byte("s3cret-value-0123456789abcdef")
	},
}

// TestRunReportsServesError: for every configuration error serve refuses to start with,
// doctor reports one FAIL that holds the very error serve prints (agent.Resolve's, which
// New returns), whichever check reports it.
func TestRunReportsServesError(t *testing.T) {
	a, input := runFixture(t)
	for name, configure := range planErrorCases {
		t.Run(name, func(t *testing.T) {
			in := input(a.Name, "")
			in.Config.Environ = []string{"PATH=/bin"}
			configure(&in.Config)
			_, serveErr := agent.Resolve(in.Config, os.Geteuid())
			var ce *agent.ConfigError
			if !errors.As(serveErr, &ce) {
				t.Fatalf("agent.Resolve: got %v, want a *agent.ConfigError", serveErr)
			}
			r := Run(in)
			f := only(t, r, serveErr.Error())
			if f.Severity != Fail {
				t.Errorf("finding %q: got %v, want FAIL", f.What, f.Severity)
			}
		})
	}
}
