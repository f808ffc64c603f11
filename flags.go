//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"jobsshd/agent"
	"jobsshd/internal/account"
	"jobsshd/jobtrust"
)

// serveOptions are the serve command's flags, before defaults that need the system
// (the account, the state directory) are resolved.
type serveOptions struct {
	user       string
	port       int
	strictPort bool
	bind       string
	stateDir   string
	idFile     string
	keyType    string
	logLevel   slog.Level
	jsonLogs   bool // --log-format json; false is text

	allowTCPForwarding   bool
	allowUnixForwarding  bool
	allowAgentForwarding bool
	gatewayPorts         bool

	access accessOptions
	web    webOptions // flags_web.go

	jobTrust      bool
	jobHosts      string
	jobKey        string
	jobSecretFile string

	logLevelFile string // holds the log level, read at start and on SIGHUP (reload.go)
}

// jobSecretVariable holds the job secret. It is deliberately not a flag: a command line
// is visible to every process of the container (ps, /proc/PID/cmdline).
const jobSecretVariable = "JOBSSHD_JOB_SECRET"

// maxJobSecretFile bounds what --job-secret-file reads.
const maxJobSecretFile = 64 << 10

// envName is the environment variable that stands for a flag: JOBSSHD_ and the flag's
// name in upper case with '-' as '_' (--state-dir → JOBSSHD_STATE_DIR).
func envName(flagName string) string {
	return "JOBSSHD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseServeFlags parses the serve command line. A flag not given on the command line
// takes its JOBSSHD_* variable when that is set; a flag always wins over its variable.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveOptions, error) {
	var o serveOptions
	fs := flag.NewFlagSet("jobsshd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.user, "user", "", "account to serve (default: the account jobsshd runs as; as root: work, else ma-user)")
	fs.IntVar(&o.port, "port", 2222, "preferred port; if taken, a free random port is used unless --strict-port; 0 means random")
	fs.BoolVar(&o.strictPort, "strict-port", false, "fail instead of using another port when --port is taken")
	fs.StringVar(&o.bind, "bind", "", "listen address (default: all interfaces, IPv4 and IPv6)")
	fs.StringVar(&o.stateDir, "state-dir", "", "host keys and status.json (default: /var/lib/jobsshd as root, else $XDG_STATE_HOME/jobsshd or ~/.local/state/jobsshd)")
	fs.StringVar(&o.idFile, "id-file", "", "the generated user key (default: ~USER/id_container, with .pub and .ppk beside it)")
	fs.StringVar(&o.keyType, "key-type", agent.DefaultKeyType, "type of the generated user key: ed25519 or rsa (RSA-3072, for old clients)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&o.logLevelFile, "log-level-file", "", "file holding the log level (debug, info, warn or error), root's and not writable by others; read at start, where it wins over --log-level, and again on SIGHUP")
	fs.Var(logFormatFlag{&o.jsonLogs}, "log-format", "log format: text (key=value) or json (one object per line)")
	fs.BoolVar(&o.allowTCPForwarding, "allow-tcp-forwarding", true, "allow TCP forwarding: ssh -L, -R and -D (--allow-tcp-forwarding=false refuses them)")
	fs.BoolVar(&o.allowUnixForwarding, "allow-unix-forwarding", true, "allow unix socket forwarding: ssh -L PORT:/path.sock and -R /path.sock:HOST:PORT")
	fs.BoolVar(&o.allowAgentForwarding, "allow-agent-forwarding", true, "allow ssh-agent forwarding (ssh -A)")
	fs.BoolVar(&o.gatewayPorts, "gateway-ports", false, "let remote forwards (ssh -R) listen on all interfaces when the client asks; otherwise they listen on loopback only")
	o.access.register(fs)
	o.web.register(fs)
	fs.BoolVar(&o.jobTrust, "job-trust", true, "let the workers of a distributed job ssh to each other with a key from the job secret, from the job's hosts only, when job hosts are known (--job-trust=false turns it off)")
	fs.StringVar(&o.jobHosts, "job-hosts", "", "the job's hosts, comma separated hostnames or IP addresses, besides the VC_*_HOSTS variables of the container")
	fs.StringVar(&o.jobKey, "job-key", "", "job secret as a private key file every worker has (default: ~/.ssh/id_rsa in the layout of Volcano's ssh plugin)")
	fs.StringVar(&o.jobSecretFile, "job-secret-file", "", "job secret as a file every worker has (or set "+jobSecretVariable+"); at least 16 bytes")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: jobsshd [serve] [flags] | jobsshd doctor [flags] | jobsshd version\n\ndoctor takes serve's flags and reports why logins to that account would fail.\nEvery flag can also be set as JOBSSHD_<FLAG> (e.g. JOBSSHD_STATE_DIR); a flag wins over its variable.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: serve takes only flags (see --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || flagsWithoutVariable[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	if err := o.access.check(); err != nil {
		return o, err
	}
	if err := o.web.check(); err != nil {
		return o, err
	}
	if o.port < 0 || o.port > 65535 {
		return o, fmt.Errorf("port %d: use 0-65535 (0 means a random free port)", o.port)
	}
	if _, err := jobtrust.ParseHosts(o.jobHosts); err != nil {
		return o, fmt.Errorf("--job-hosts: %w", err)
	}
	return o, nil
}

// config turns the options into an agent.Config, resolving the defaults that depend on
// who jobsshd runs as.
func (o serveOptions) config(getenv func(string) string) (agent.Config, error) {
	user := o.user
	if user == "" {
		var err error
		user, err = account.DefaultName(os.Geteuid(), account.NameByUID, account.Lookup)
		if err != nil {
			return agent.Config{}, err
		}
	}
	stateDir := o.stateDir
	if stateDir == "" {
		stateDir = defaultStateDir(os.Geteuid(), getenv)
	}
	cfg := agent.Config{
		User:       user,
		Port:       o.port,
		StrictPort: o.strictPort,
		Bind:       o.bind,
		StateDir:   stateDir,
		IDFile:     o.idFile,
		KeyType:    o.keyType,

		DisableTCPForwarding:   !o.allowTCPForwarding,
		DisableUnixForwarding:  !o.allowUnixForwarding,
		DisableAgentForwarding: !o.allowAgentForwarding,
		GatewayPorts:           o.gatewayPorts,

		DisableJobTrust: !o.jobTrust,

		LookupAccount: account.LookupFor(os.Geteuid(), func() account.Self { return account.SelfOf(getenv) }),
	}
	o.access.apply(&cfg, getenv(inlineKeysVariable))
	if !o.jobTrust {
		return cfg, nil
	}
	cfg.JobHosts, _ = jobtrust.ParseHosts(o.jobHosts) // checked by parseServeFlags
	cfg.JobKeyFile = o.jobKey
	secret := getenv(jobSecretVariable)
	switch {
	case o.jobSecretFile != "" && secret != "":
		return agent.Config{}, fmt.Errorf("both --job-secret-file and %s are set: keep one", jobSecretVariable)
	case o.jobSecretFile != "":
		b, err := readJobSecretFile(o.jobSecretFile)
		if err != nil {
			return agent.Config{}, err
		}
		cfg.JobSecret = b
	case secret != "":
		cfg.JobSecret = jobtrust.Secret(secret)
	}
	return cfg, nil
}

// logFormatFlag is --log-format: "text" (slog's key=value lines) or "json" (one JSON
// object per line), stored as whether the logs are JSON.
type logFormatFlag struct{ json *bool }

func (f logFormatFlag) String() string {
	if f.json != nil && *f.json {
		return "json"
	}
	return "text"
}

func (f logFormatFlag) Set(v string) error {
	switch v {
	case "text", "json":
		*f.json = v == "json"
		return nil
	}
	return fmt.Errorf("log format %q: use text or json", v)
}
