//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"jobsshd/doctor"
)

// doctorCommand diagnoses why logins to the account `jobsshd serve` would serve with the
// same flags and JOBSSHD_* variables would fail. It exits 1 when a finding blocks logins
// (or the agent's start), 0 otherwise, and 2 on bad flags.
func doctorCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "jobsshd doctor: %v\n", err)
		return exitUsage
	}
	in := doctor.Input{UserGiven: opts.user != "", EUID: os.Geteuid()}
	in.Config, in.AccountErr = opts.config(getenv)
	if in.AccountErr != nil {
		// config fails only when no default account can be chosen; the rest of the
		// configuration (state dir, port) is still worth checking, so resolve it with
		// a stand-in account name that the report does not use.
		probe := opts
		probe.user = "root"
		if in.Config, err = probe.config(getenv); err != nil {
			fmt.Fprintf(stderr, "jobsshd doctor: %v\n", err)
			return exitUsage
		}
		in.Config.User = ""
	}
	switch {
	case opts.jobSecretFile != "":
		in.JobSecretSource = "--job-secret-file " + opts.jobSecretFile
	case getenv(jobSecretVariable) != "":
		in.JobSecretSource = jobSecretVariable
	}
	report := doctor.Run(in)
	if err := report.Write(stdout); err != nil {
		fmt.Fprintf(stderr, "jobsshd doctor: write report: %v\n", err)
		return exitFailure
	}
	if report.Blocking() {
		return exitFailure
	}
	return exitOK
}
