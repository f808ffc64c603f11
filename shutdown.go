//go:build linux

package main

import (
	"context"
	"log/slog"

	"jobsshd/agent"
)

// shutdown stops the SSH server and the web server (stopWeb, from stopWebOnce) at the
// same time, both within shutdownGrace: each stops accepting and hangs up its sessions
// at once, so that the web server does not start shells while SSH sessions finish, and
// the web server's wait for its /ssh connections ends when srv.Shutdown closes them.
// served is srv.Serve's result; the exit code is what serve returns.
func shutdown(srv *agent.Server, served chan error, stopWeb func(), logger *slog.Logger) int {
	logger.Info("shutting down", "grace", shutdownGrace)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	webStopped := make(chan struct{})
	go func() { stopWeb(); close(webStopped) }()
	defer func() { <-webStopped }()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("sessions cut at shutdown", "err", err)
	}
	if err := <-served; err != nil {
		logger.Error("server stopped", "err", err)
		return exitFailure
	}
	return exitOK
}
