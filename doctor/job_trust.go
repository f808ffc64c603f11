package doctor

import (
	"fmt"
	"strings"

	"jobsshd/agent"
	"jobsshd/internal/account"
	"jobsshd/jobtrust"
)

// checkJobTrust reports what the agent would do with the job trust settings (the
// decision of its plan, agent.DecideJobTrust, in the environment sessions would get):
// on, off and why, or the configuration error it refuses to start with. secretSource
// names where Config.JobSecret came from; the secret itself is never shown. It returns
// the decision, which makes the port strict when job trust is on.
func checkJobTrust(r *Report, cfg agent.Config, a *account.Account, euid int, secretSource string) jobtrust.Decision {
	d, err := agent.DecideJobTrust(cfg, agent.EnvironFor(cfg), a, euid)
	if err != nil {
		r.fail(jobTrustFix(cfg), "%v: jobsshd will not start (exit 2)", err)
		return jobtrust.Decision{}
	}
	if d.IgnoredHosts != nil {
		r.warn("correct the VC_*_HOSTS variables of the container (the platform sets them), or name the hosts with --job-hosts",
			"job trust: some job hosts from the environment are not usable: %v", d.IgnoredHosts)
	}
	switch {
	case d.Disabled:
		r.info("job trust is off (--job-trust=false)")
	case d.On():
		source := d.Source()
		if source == "job secret" && secretSource != "" {
			source = "the job secret in " + secretSource
		}
		r.ok("job trust on: the job key logs in from %s, identity from %s; the port is strict (no fallback to a random port)",
			hostList(d.Hosts), source)
	case d.OffWarning:
		fix := "set --job-hosts (or VC_WORKER_HOSTS in the container) with the job's hosts, or unset the job secret"
		if strings.Contains(d.Off, "~/.ssh") {
			fix = "check the job key the platform mounts in ~/.ssh (id_rsa without a passphrase), or pass --job-key or a job secret"
		}
		r.warn(fix, "job trust off: %s", d.Off)
	default:
		r.info("job trust off: %s", d.Off)
	}
	return d
}

// jobTrustFix says how to repair the job trust settings agent.DecideJobTrust refused,
// from which of them are set.
func jobTrustFix(cfg agent.Config) string {
	switch {
	case cfg.JobKeyFile != "" && cfg.JobSecret != nil:
		return "keep one: drop --job-key, or unset JOBSSHD_JOB_SECRET and --job-secret-file"
	case cfg.JobKeyFile != "":
		return fmt.Sprintf("pass --job-key a private key file without a passphrase that jobsshd can read (the same on every worker), not %s", cfg.JobKeyFile)
	case cfg.JobSecret != nil:
		return "set a job secret of 16 bytes or more, the same on every worker (e.g. from openssl rand -hex 32)"
	default:
		return "set JOBSSHD_JOB_SECRET or --job-secret-file (the same on every worker), or --job-key; or drop --job-hosts, or pass --job-trust=false"
	}
}

// hostList names up to a few hosts and how many there are.
func hostList(hosts []string) string {
	const shown = 4
	if len(hosts) <= shown {
		return fmt.Sprintf("%s (%s)", plural(len(hosts), "job host"), strings.Join(hosts, ", "))
	}
	return fmt.Sprintf("%d job hosts (%s and %d more)", len(hosts), strings.Join(hosts[:shown], ", "), len(hosts)-shown)
}
