//go:build linux

package main

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"jobsshd/agent"
	"jobsshd/web"
)

// startWeb creates the web server beside the SSH server and opens its listener, and
// tells the agent about it for status.json and the start-up text (so call it before
// srv.Listen). It returns nil, nil without --web.
func startWeb(opts webOptions, getenv func(string) string, srv *agent.Server, stateDir string, logger *slog.Logger) (*web.Server, error) {
	if opts.addr == "" {
		return nil, nil
	}
	cfg := opts.config(getenv)
	cfg.StateDir, cfg.StateDirPath = srv.StateDir(), stateDir
	cfg.Agent, cfg.Logger = srv, logger
	cfg.Terminals = agentTerminals{srv}
	ws, err := web.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := ws.Listen(); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	srv.SetWeb(agent.StatusWeb{Addr: ws.Addr(), Port: ws.Port(), URL: ws.URL(host), TokenFile: ws.TokenFile()})
	return ws, nil
}

// serveWeb serves ws (if any) in a goroutine whose result comes on the returned
// channel.
func serveWeb(ws *web.Server, logger *slog.Logger) chan error {
	done := make(chan error, 1)
	if ws == nil {
		close(done)
		return done
	}
	go func() {
		err := ws.Serve()
		if err != nil {
			logger.Error("web server stopped", "err", err)
		}
		done <- err
	}()
	return done
}

// stopWebOnce returns a function that shuts ws down, within shutdownGrace, and waits
// for its Serve to return. The first call does the work; later and concurrent calls
// wait for it. shutdown (shutdown.go) calls it as the shutdown begins, beside the SSH
// server's Shutdown; serve defers it too, for the ways out that do not pass there.
func stopWebOnce(ws *web.Server, served chan error, logger *slog.Logger) func() {
	return sync.OnceFunc(func() {
		if ws == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := ws.Shutdown(ctx); err != nil {
			logger.Warn("web requests cut at shutdown", "err", err)
		}
		<-served
	})
}
