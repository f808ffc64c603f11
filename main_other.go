//go:build !linux

package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes, as on Linux (main.go).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// main on other systems than Linux: only the laptop-side commands. The agent (serve,
// doctor, sftp-server, scp) needs Linux: its ptys, credentials and /proc.
func main() {
	os.Exit(runOther(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func runOther(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "proxy":
		return proxyCommand(args[1:], getenv, stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "jobsshd %s\n", version)
		return exitOK
	}
	fmt.Fprintf(stderr, "jobsshd: %s runs on Linux only; on this system jobsshd runs `jobsshd proxy URL` (see jobsshd proxy --help) and `jobsshd version`\n", cmd)
	return exitUsage
}
