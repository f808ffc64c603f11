package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// parseServeFlagsTests are TestParseServeFlags's cases: args and environment, and the
// options or the error they give.
var parseServeFlagsTests = []struct {
	name    string
	args    []string
	env     map[string]string
	want    serveOptions
	wantErr string
}{
	{
		name: "defaults",
		want: forwardingOn(serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo}),
	},
	{
		name: "flags",
		args: []string{"--user", "work", "--port", "0", "--strict-port", "--bind", "::1", "--state-dir", "/s", "--id-file", "/k", "--key-type", "rsa", "--log-level", "debug"},
		want: forwardingOn(serveOptions{user: "work", port: 0, strictPort: true, bind: "::1", stateDir: "/s", idFile: "/k", keyType: "rsa", logLevel: slog.LevelDebug}),
	},
	{
		name: "environment",
		env:  map[string]string{"JOBSSHD_USER": "ma-user", "JOBSSHD_PORT": "2200", "JOBSSHD_STRICT_PORT": "true", "JOBSSHD_STATE_DIR": "/state", "JOBSSHD_ID_FILE": "/id"},
		want: forwardingOn(serveOptions{user: "ma-user", port: 2200, strictPort: true, stateDir: "/state", idFile: "/id", keyType: "ed25519", logLevel: slog.LevelInfo}),
	},
	{
		name: "flag wins over environment",
		args: []string{"--port=3000"},
		env:  map[string]string{"JOBSSHD_PORT": "2200", "JOBSSHD_USER": "work"},
		want: forwardingOn(serveOptions{user: "work", port: 3000, keyType: "ed25519", logLevel: slog.LevelInfo}),
	},
	{
		name: "forwarding flags",
		args: []string{"--allow-tcp-forwarding=false", "--allow-unix-forwarding=false", "--allow-agent-forwarding=false", "--gateway-ports"},
		want: serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo, gatewayPorts: true, jobTrust: true},
	},
	{
		name: "forwarding environment",
		env:  map[string]string{"JOBSSHD_ALLOW_TCP_FORWARDING": "false", "JOBSSHD_ALLOW_UNIX_FORWARDING": "0", "JOBSSHD_ALLOW_AGENT_FORWARDING": "false", "JOBSSHD_GATEWAY_PORTS": "true"},
		want: serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo, gatewayPorts: true, jobTrust: true},
	},
	{
		name: "forwarding flag wins over environment",
		args: []string{"--allow-tcp-forwarding=true"},
		env:  map[string]string{"JOBSSHD_ALLOW_TCP_FORWARDING": "false"},
		want: forwardingOn(serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo}),
	},
	{
		name: "log format",
		args: []string{"--log-format", "json"},
		want: forwardingOn(serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo, jsonLogs: true}),
	},
	{
		name: "log format from environment, flag wins",
		args: []string{"--log-format=text"},
		env:  map[string]string{"JOBSSHD_LOG_FORMAT": "json"},
		want: forwardingOn(serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo}),
	},
	{
		name: "log format from environment",
		env:  map[string]string{"JOBSSHD_LOG_FORMAT": "json"},
		want: forwardingOn(serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo, jsonLogs: true}),
	},
	{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: `log format "xml": use text or json`},
	{name: "bad log format in environment", env: map[string]string{"JOBSSHD_LOG_FORMAT": "JSON"}, wantErr: `JOBSSHD_LOG_FORMAT="JSON"`},
	{
		name: "job trust flags",
		args: []string{"--job-trust=false", "--job-hosts", "w-0, w-1,10.0.0.3", "--job-key", "/k/id_rsa", "--job-secret-file", "/k/secret"},
		want: serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo, allowTCPForwarding: true, allowUnixForwarding: true, allowAgentForwarding: true,
			jobHosts: "w-0, w-1,10.0.0.3", jobKey: "/k/id_rsa", jobSecretFile: "/k/secret"},
	},
	{
		name: "job trust environment",
		env:  map[string]string{"JOBSSHD_JOB_TRUST": "false", "JOBSSHD_JOB_HOSTS": "a,b", "JOBSSHD_JOB_KEY": "/k", "JOBSSHD_JOB_SECRET_FILE": "/s"},
		want: serveOptions{port: 2222, keyType: "ed25519", logLevel: slog.LevelInfo, allowTCPForwarding: true, allowUnixForwarding: true, allowAgentForwarding: true,
			jobHosts: "a,b", jobKey: "/k", jobSecretFile: "/s"},
	},
	{name: "job host pattern", args: []string{"--job-hosts", "w-0,*"}, wantErr: `--job-hosts: job host "*"`},
	{name: "job secret is no flag", args: []string{"--job-secret", "s"}, wantErr: "not defined"},
	{name: "bad forwarding value in environment", env: map[string]string{"JOBSSHD_GATEWAY_PORTS": "sometimes"}, wantErr: `JOBSSHD_GATEWAY_PORTS="sometimes"`},
	{name: "bad port", args: []string{"--port", "notanumber"}, wantErr: "invalid value"},
	{name: "port out of range", args: []string{"--port", "70000"}, wantErr: "use 0-65535"},
	{name: "bad port in environment", env: map[string]string{"JOBSSHD_PORT": "x"}, wantErr: `JOBSSHD_PORT="x"`},
	{name: "unknown flag", args: []string{"--colour"}, wantErr: "not defined"},
	{name: "stray argument", args: []string{"--port", "1", "extra"}, wantErr: `unexpected argument "extra"`},
}

func TestParseServeFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range parseServeFlagsTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseServeFlags(tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.access, defaultAccess) {
				t.Errorf("access options: got %+v, want the defaults %+v", got.access, defaultAccess)
			}
			got.access = accessOptions{} // TestAccessFlags checks them
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// forwardingOn is o with the flags that are on by default at their defaults: TCP,
// unix-socket and agent forwarding allowed, job trust on.
func forwardingOn(o serveOptions) serveOptions {
	o.allowTCPForwarding, o.allowUnixForwarding, o.allowAgentForwarding = true, true, true
	o.jobTrust = true
	return o
}

func TestServeOptionsForwardingConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts serveOptions
		want [4]bool // DisableTCPForwarding, DisableUnixForwarding, DisableAgentForwarding, GatewayPorts
	}{
		{name: "defaults", opts: forwardingOn(serveOptions{}), want: [4]bool{false, false, false, false}},
		{name: "all off, gateway ports on", opts: serveOptions{gatewayPorts: true}, want: [4]bool{true, true, true, true}},
		{name: "only tcp off", opts: serveOptions{allowUnixForwarding: true, allowAgentForwarding: true}, want: [4]bool{true, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.user, tt.opts.stateDir = "work", "/s"
			cfg, err := tt.opts.config(func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			got := [4]bool{cfg.DisableTCPForwarding, cfg.DisableUnixForwarding, cfg.DisableAgentForwarding, cfg.GatewayPorts}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestServeOptionsJobTrustConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("file-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	on := forwardingOn(serveOptions{user: "work", stateDir: "/s"})
	tests := []struct {
		name        string
		opts        serveOptions
		env         map[string]string
		wantSecret  string // "" means none
		wantHosts   []string
		wantDisable bool
		wantErr     string
	}{
		{name: "secret from the environment", opts: on, env: map[string]string{"JOBSSHD_JOB_SECRET": "env-secret-0123456789"}, wantSecret: "env-secret-0123456789"},
		{name: "secret file, line end trimmed", opts: withJob(on, func(o *serveOptions) { o.jobSecretFile = secretFile }), wantSecret: "file-secret-0123456789"},
		{name: "both secrets", opts: withJob(on, func(o *serveOptions) { o.jobSecretFile = secretFile }), env: map[string]string{"JOBSSHD_JOB_SECRET": "x"}, wantErr: "keep one"},
		{name: "missing secret file", opts: withJob(on, func(o *serveOptions) { o.jobSecretFile = filepath.Join(dir, "nope") }), wantErr: "--job-secret-file"},
		{name: "hosts", opts: withJob(on, func(o *serveOptions) { o.jobHosts = "w-0, w-1" }), wantHosts: []string{"w-0", "w-1"}},
		{name: "off ignores the secret", opts: withJob(on, func(o *serveOptions) { o.jobTrust = false; o.jobHosts = "w-0" }), env: map[string]string{"JOBSSHD_JOB_SECRET": "env-secret-0123456789"}, wantDisable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := tt.opts.config(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(cfg.JobSecret) != tt.wantSecret || !slices.Equal(cfg.JobHosts, tt.wantHosts) || cfg.DisableJobTrust != tt.wantDisable {
				t.Errorf("got secret of %d bytes, hosts %q, disabled %v; want %d bytes, %q, %v",
					len(cfg.JobSecret), cfg.JobHosts, cfg.DisableJobTrust, len(tt.wantSecret), tt.wantHosts, tt.wantDisable)
			}
		})
	}
}

func withJob(o serveOptions, change func(*serveOptions)) serveOptions {
	change(&o)
	return o
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for flagName, want := range map[string]string{"state-dir": "JOBSSHD_STATE_DIR", "port": "JOBSSHD_PORT", "strict-port": "JOBSSHD_STRICT_PORT", "allow-tcp-forwarding": "JOBSSHD_ALLOW_TCP_FORWARDING"} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q): got %q, want %q", flagName, got, want)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, want: exitOK, wantStdout: "jobsshd " + version},
		{name: "help", args: []string{"--help"}, want: exitOK, wantStderr: "JOBSSHD_"},
		{name: "unknown command", args: []string{"frobnicate"}, want: exitUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "bad flag", args: []string{"--port", "x"}, want: exitUsage, wantStderr: "invalid value"},
		{name: "bad log format", args: []string{"--log-format", "yaml"}, want: exitUsage, wantStderr: `log format "yaml": use text or json`},
		{name: "missing user", args: []string{"--user", "wrok-no-such-user", "--state-dir", t.TempDir()}, want: exitUsage, wantStderr: `user "wrok-no-such-user" not found in /etc/passwd`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			got := run(tt.args, func(string) string { return "" }, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("got exit %d, want %d (stderr %q)", got, tt.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("got stdout %q stderr %q, want them to contain %q and %q", stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestDefaultStateDir(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		euid int
		env  map[string]string
		want string
	}{
		{"root", 0, map[string]string{"XDG_STATE_HOME": "/x"}, "/var/lib/jobsshd"},
		{"xdg", 1000, map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/home/a"}, "/x/jobsshd"},
		{"home", 1000, map[string]string{"HOME": "/home/a"}, "/home/a/.local/state/jobsshd"},
	}
	for _, tt := range tests {
		if got := defaultStateDir(tt.euid, env(tt.env)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
