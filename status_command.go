//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"jobsshd/agent"
)

// statusOptions are the flags of `jobsshd status`.
type statusOptions struct {
	wait      bool
	timeout   time.Duration
	json      bool
	stateDir  string
	pid       int  // the agent's pid, as its starter knows it (status_pid.go); 0: any
	listening bool // with wait: ready once it listens, before its RSA host key
}

// defaultStatusTimeout bounds `status --wait`: the agent listens within a second or
// two, key generation included; 30 s leaves room for a loaded machine.
const defaultStatusTimeout = 30 * time.Second

// statusCommand prints what a running agent says in status.json: how to connect (the
// start-up text, again) and the live figures, or with --json the file itself. It exits
// 0 when an agent runs, 1 when none does (or none did within --timeout with --wait),
// 2 on bad flags (README "Command line").
func statusCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseStatusFlags(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "jobsshd status: %v\n", err)
		return exitUsage
	}
	st, err := awaitStatus(o, os.Geteuid(), time.Now, time.Sleep)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd status: %v\n", err)
		return exitFailure
	}
	if o.json {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "jobsshd status: %v\n", err)
			return exitFailure
		}
		_, err = io.WriteString(stdout, escapeJSONControls(string(b))+"\n")
		return exitIf(err)
	}
	var text strings.Builder
	agent.WriteConnectInfo(&text, st)
	fmt.Fprintf(&text, "\n%s\n", liveSummary(st, time.Now()))
	_, err = io.WriteString(stdout, printable(text.String()))
	return exitIf(err)
}

// printable is s with every control character but newline replaced by '?'. The
// strings in status.json are the writer's: an agent run as the user writes it in a
// directory of the user's, and root may run `jobsshd status` on it, so an escape
// sequence there must not reach root's terminal (window titles, cursor moves,
// answerback).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// escapeJSONControls escapes, in JSON text js, the control characters encoding/json
// leaves as they are (DEL and the C1 range, U+0080 to U+009F, which some terminals
// take as escape sequences); it escapes the others (below U+0020) itself. Outside
// strings JSON text is ASCII without controls, so every one found is inside a string.
func escapeJSONControls(js string) string {
	var b strings.Builder
	for _, r := range js {
		if r >= 0x7f && unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exitIf is exitFailure when writing the output failed (a closed pipe).
func exitIf(err error) int {
	if err != nil {
		return exitFailure
	}
	return exitOK
}

func parseStatusFlags(args []string, getenv func(string) string, stderr io.Writer) (statusOptions, error) {
	o := statusOptions{timeout: defaultStatusTimeout}
	fs := flag.NewFlagSet("jobsshd status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.wait, "wait", false, "wait until an agent listens and id_container exists, up to --timeout")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "how long --wait waits")
	fs.BoolVar(&o.json, "json", false, "print status.json (checked to be a running agent's) instead of the text")
	fs.IntVar(&o.pid, "pid", 0, "the pid of the agent to wait for (the process that started it knows it): only its status.json counts, and --wait fails at once when it exits")
	fs.BoolVar(&o.listening, "listening", false, "with --wait, stop waiting once the agent listens, before its RSA host key of a new state directory exists")
	fs.StringVar(&o.stateDir, "state-dir", "", "the state directory jobsshd serve uses (default: $JOBSSHD_STATE_DIR, else serve's default)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: status takes only flags (jobsshd status --help)", fs.Arg(0))
	}
	if o.pid < 0 {
		return o, fmt.Errorf("--pid %d: give the pid of the jobsshd process (the $! of the shell that started it)", o.pid)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("--timeout %v: give a positive duration such as 30s", o.timeout)
	}
	if o.stateDir == "" {
		o.stateDir = getenv("JOBSSHD_STATE_DIR")
	}
	if o.stateDir == "" {
		o.stateDir = defaultStateDir(os.Geteuid(), getenv)
	}
	return o, nil
}
