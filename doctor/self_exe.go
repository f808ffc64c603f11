package doctor

import (
	"os"

	"jobsshd/agent"
	"jobsshd/internal/account"
)

// checkSelfExe checks, as the account, that it may execute this binary, which the agent
// starts as the account (through /proc/self/exe) to serve sftp and scp: the file's own
// mode and a noexec mount decide, not the directories above it (agent.selfExecutable).
// Without it every sftp and scp fails, while shell logins work.
func checkSelfExe(r *Report, a *account.Account) {
	exe, err := os.Executable()
	if err != nil {
		r.warn("run jobsshd doctor from the binary serve runs", "cannot find this binary to check that %q may execute it: %v", a.Name, err)
		return
	}
	path := exe
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		path = "/proc/self/exe"
	}
	err = a.Do(func() error { return agent.CanExecute(path) })
	if err != nil {
		problem, fix := agent.ExecuteProblem(a.Name, exe, err)
		r.fail(fix, "%s: every sftp and scp session fails (shell logins work)", problem)
		return
	}
	r.ok("%q can execute %s, which serves sftp and scp", a.Name, exe)
}
