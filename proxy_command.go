package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"

	"jobsshd/proxy"
)

// maxTokenFileSize bounds what --token-file reads.
const maxTokenFileSize = 4 << 10

// proxyOptions are the flags of `jobsshd proxy`.
type proxyOptions struct {
	listen    string
	tokenFile string
	headers   headerList
}

// proxyCommand is `jobsshd proxy [--listen ADDR] [--token-file FILE] [--header 'N: v']
// URL`: the laptop side of web access (package proxy). It builds for every OS.
func proxyCommand(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o proxyOptions
	fs := flag.NewFlagSet("jobsshd proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "", "relay each TCP connection on this local address (e.g. 127.0.0.1:2222) instead of stdin/stdout: for PuTTY, WinSCP, FileZilla")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the agent's web token (default: $JOBSSHD_WEB_TOKEN)")
	fs.Var(&o.headers, "header", "extra HTTP header 'Name: value' for the ingress (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: jobsshd proxy [flags] URL\n\nCarries SSH over the agent's /ssh WebSocket, e.g.\n  ssh -o ProxyCommand='jobsshd proxy --token-file ~/.jobsshd-token wss://platform.example/jobs/42/ssh' work@job42\n  jobsshd proxy --listen 127.0.0.1:2222 wss://platform.example/jobs/42/ssh   (then PuTTY to 127.0.0.1 port 2222)\nHTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "jobsshd proxy: give one URL, the agent's /ssh address (e.g. wss://platform.example/jobs/42/ssh); see --help")
		return exitUsage
	}
	opts, err := o.proxyConfig(fs.Arg(0), getenv)
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd proxy: %v\n", err)
		return exitUsage
	}
	if w := plaintextWarning(opts.URL, opts.Token, opts.Header); w != "" {
		fmt.Fprintln(stderr, w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.listen == "" {
		err = proxy.Stdio(ctx, opts, stdin, stdout)
	} else {
		err = relayListen(ctx, o.listen, opts, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "jobsshd proxy: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// relayListen listens on addr and relays every connection (proxy.Listen).
func relayListen(ctx context.Context, addr string, opts proxy.Options, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w: pick a free local port, e.g. --listen 127.0.0.1:2222", addr, err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		fmt.Fprintf(stderr, "jobsshd proxy: warning: %s is reachable from other machines, and whoever connects to it reaches the job's SSH server with your token (they still need a key): prefer --listen 127.0.0.1:PORT\n", ln.Addr())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fmt.Fprintf(stderr, "jobsshd proxy: relaying %s to %s; connect your SSH client to host %s (Ctrl-C stops)\n", ln.Addr(), opts.URL, ln.Addr())
	return proxy.Listen(ctx, opts, ln, log)
}

// proxyConfig resolves the token and headers and checks the URL.
func (o proxyOptions) proxyConfig(rawURL string, getenv func(string) string) (proxy.Options, error) {
	if _, err := proxy.CheckURL(rawURL); err != nil {
		return proxy.Options{}, err
	}
	opts := proxy.Options{URL: rawURL, Header: http.Header(o.headers.header)}
	switch {
	case o.tokenFile != "":
		f, err := os.Open(o.tokenFile)
		if err != nil {
			return opts, fmt.Errorf("--token-file: %w", err)
		}
		defer f.Close() // read-only
		b, err := io.ReadAll(io.LimitReader(f, maxTokenFileSize))
		if err != nil {
			return opts, fmt.Errorf("--token-file %s: %w", o.tokenFile, err)
		}
		opts.Token = strings.TrimSpace(string(b))
		if opts.Token == "" {
			return opts, fmt.Errorf("--token-file %s is empty: copy the agent's web-token file there", o.tokenFile)
		}
	default:
		opts.Token = strings.TrimSpace(getenv("JOBSSHD_WEB_TOKEN"))
	}
	if opts.Token != "" && opts.Header.Get("Authorization") != "" {
		return opts, errors.New("--header Authorization and the web token both want the Authorization header: pass the ingress's credentials under another header name")
	}
	return opts, nil
}

// headerList is the repeatable --header 'Name: value'.
type headerList struct{ header http.Header }

func (h *headerList) String() string { return "" }

func (h *headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("%q: use 'Name: value', e.g. --header 'X-Api-Key: abc'", v)
	}
	if h.header == nil {
		h.header = http.Header{}
	}
	h.header.Add(name, strings.TrimSpace(value))
	return nil
}
