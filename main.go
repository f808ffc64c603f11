//go:build linux

// Command jobsshd is an SSH/SFTP server for the inside of a training or compute
// container: it serves one account, with keys it makes itself, to OpenSSH, PuTTY and
// paramiko clients. See README.md for the command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"jobsshd/agent"
	"jobsshd/internal/closeonexec"
	"jobsshd/internal/gcpolicy"
	"jobsshd/internal/reaper"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// shutdownGrace is how long open sessions may run on after SIGTERM before they are cut.
const shutdownGrace = 5 * time.Second

// Exit codes, as README "Command line" documents them: 0 clean shutdown, 1 runtime
// failure, 2 bad flags or config.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	// Before anything else: a descriptor inherited from whoever started us (a
	// supervisor, `exec 7<root-only-file jobsshd`) would otherwise reach every program
	// started for a user, who could read it (issue 10, item 8).
	if err := closeonexec.AboveStderr(); err != nil {
		fmt.Fprintf(os.Stderr, "jobsshd: keep inherited descriptors from sessions: %v\n", err)
		os.Exit(exitFailure)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// One OS thread runs Go code unless the operator says otherwise. Every SSH packet
		// hops between goroutines (x/crypto's read loop, its mux, the session's copy);
		// on one thread those hops are plain switches, on several they are cross-core
		// wakeups. Measured on 2 vCPUs (BENCHMARKS.md): a 1 GiB upload took half the
		// agent CPU and less time, downloads no more. The price is that all connections
		// together use at most one core for crypto (~0.6 GB/s with AES-GCM), which an
		// agent sharing a container with a training job should not exceed anyway.
		runtime.GOMAXPROCS(1)
	}
	gcpolicy.Apply(os.Getenv) // the agent and the transfer programs alike (internal/gcpolicy)
	nameProcess()
	if filepath.Base(os.Args[0]) == "scp" {
		// Started as "scp" through a link an image provides (README): a client such as
		// WinSCP in SCP mode typed an scp server command into a shell.
		os.Exit(scpFromShell(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "version":
			fmt.Fprintf(stdout, "jobsshd %s\n", version)
			return exitOK
		case "serve":
			args = args[1:]
		case "doctor":
			return doctorCommand(args[1:], getenv, stdout, stderr)
		case "status":
			return statusCommand(args[1:], getenv, stdout, stderr) // status_command.go
		case "proxy":
			return proxyCommand(args[1:], getenv, os.Stdin, stdout, stderr) // proxy_command.go
		case "sftp-server":
			return sftpServer(args[1:], os.Stdin, stdout, stderr, getenv)
		case "scp":
			return scpServer(args[1:], os.Stdin, stdout, stderr)
		default:
			fmt.Fprintf(stderr, "jobsshd: unknown command %q: the commands are serve (the default), status, doctor, proxy, sftp-server, scp and version\n", args[0])
			return exitUsage
		}
	}
	opts, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "jobsshd: %v\n", err)
		return exitUsage
	}
	return serve(opts, getenv, stderr) // never stdout: under entrypoint.sh it is the job's
}

// serve runs the SSH server until SIGTERM or SIGINT. It has no stdout to write to: as
// entrypoint.sh starts it beside the job, its stdout is the job's (issue 13, finding 2),
// so its start-up text and logs go to stderr.
func serve(opts serveOptions, getenv func(string) string, stderr io.Writer) int {
	// From the start, so that a SIGHUP while the agent starts up cannot kill it; the
	// loop below handles it once the server exists.
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)
	// SIGTERM and SIGINT too: a platform may stop the agent as soon as status.json
	// appears, and a signal between Listen and the loop below must still be a clean
	// stop (exit 0, status.json removed), not a kill by the default action.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	level, err := newLogLevel(opts)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd: %v\n", err)
		return exitUsage
	}
	logger := newLogger(stderr, level, opts.jsonLogs)
	cfg, err := opts.config(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd: %v\n", err)
		return exitUsage
	}
	cfg.Logger, cfg.Version = logger, version
	cfg.ConnectInfo = connectInfoWriter(opts, stderr) // connect_info.go

	srv, err := agent.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd: %v\n", err)
		var cerr *agent.ConfigError
		if errors.As(err, &cerr) {
			return exitUsage
		}
		return exitFailure
	}
	if ctx.Err() != nil {
		logger.Info("stopped before listening")
		return exitOK
	}
	agent.ProtectFromOOM(logger)
	ws, err := startWeb(opts.web, getenv, srv, cfg.StateDir, logger) // web_serve.go; nil without --web
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd: %v\n", err)
		return exitFailure
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(stderr, "jobsshd: %v\n", err)
		return exitFailure
	}
	stopWeb := stopWebOnce(ws, serveWeb(ws, logger), logger) // serveWeb starts now
	defer stopWeb()
	// As PID 1 of its container, jobsshd inherits its sessions' orphaned background
	// jobs; it reaps them until the last session is gone.
	reapCtx, stopReaping := context.WithCancel(context.Background())
	var reaping sync.WaitGroup
	reaping.Go(func() { reaper.ReapOrphans(reapCtx, logger) })
	reaping.Go(func() { gcpolicy.ReturnWhenIdle(reapCtx, gcpolicy.ReturnInterval, logger) })
	defer func() { stopReaping(); reaping.Wait() }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	for running := true; running; {
		select {
		case err := <-served:
			logger.Error("server stopped", "err", err)
			return exitFailure
		case <-hangups:
			reload(srv, opts.logLevelFile, level, logger)
		case <-ctx.Done():
			running = false
		}
	}
	stop() // a second signal now kills the process the default way
	return shutdown(srv, served, stopWeb, logger)
}

// defaultStateDir is /var/lib/jobsshd as root, else the XDG state dir (README "Command
// line", --state-dir): an agent started as an ordinary user must not need root's paths.
func defaultStateDir(euid int, getenv func(string) string) string {
	if euid == 0 {
		return "/var/lib/jobsshd"
	}
	if x := getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "jobsshd")
	}
	home := getenv("HOME")
	if home == "" {
		home = "."
	}
	return filepath.Join(home, ".local", "state", "jobsshd")
}
