package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/account"
	"jobsshd/internal/environ"
	"jobsshd/jobtrust"
	"jobsshd/keys"
)

// Plan is what serving a Config amounts to, worked out by Resolve without changing
// anything: which account, with which credential, environment, job trust, port policy,
// key sources, CAs and algorithms, and what New will create where. New acts on it;
// `jobsshd doctor` checks the same plan, through the same steps, so that both reach
// their verdicts through the same code.
type Plan struct {
	// Config is the configuration with its defaults filled in (Config.withDefaults).
	Config Config
	// Account is the served account; Credential is its identity for the programs
	// sessions start when the agent runs as root, nil when it runs as the account.
	Account    *account.Account
	Credential *syscall.Credential
	// Environ is the container environment every session starts from.
	Environ []string
	// JobTrust is what the job trust settings amount to (jobtrust.Decide).
	JobTrust jobtrust.Decision
	// Port is where the agent listens and whether a taken port is fatal.
	Port PortPolicy
	// StateDir is opened (created 0700 when missing) and checked by New; HostKeyFiles
	// are the host keys in it, each created when missing with a .pub beside it, and
	// StatusFile is written once the agent listens.
	StateDir     string
	HostKeyFiles []string
	StatusFile   string
	// IDFile is id_container, created as the account with .pub and .ppk beside it when
	// missing.
	IDFile string
	// AuthorizedKeysFiles are read as the account at each login: the account's
	// ~/.ssh/authorized_keys first, then Config.AuthorizedKeysFiles. InlineKeys are the
	// lines of Config.AuthorizedKeys, InlineKeyErrors those lines ignored.
	AuthorizedKeysFiles []string
	InlineKeys          []keys.AuthorizedKey
	InlineKeyErrors     []*keys.LineError
	// TrustedCAs are the keys of Config.TrustedUserCAFiles.
	TrustedCAs []keys.TrustedCA
	// Algorithms are those of the Config.Algorithms profile.
	Algorithms ssh.Config
}

// Resolve works out the Plan for cfg for an agent running as euid. It reads the user
// database, the job key file, the account's ~/.ssh (as the account) and the CA files,
// and writes and creates nothing. Its error is the one New refuses to start with: a
// *ConfigError (exit code 2) for anything the configuration must change.
func Resolve(cfg Config, euid int) (*Plan, error) {
	cfg = cfg.withDefaults()
	if err := CheckSettings(cfg); err != nil {
		return nil, err
	}
	p := &Plan{Config: cfg, StateDir: cfg.StateDir, StatusFile: filepath.Join(cfg.StateDir, StatusFileName)}
	var err error
	if p.Account, p.Credential, err = ResolveAccount(cfg, euid); err != nil {
		return nil, err
	}
	p.Environ = EnvironFor(cfg)
	if p.JobTrust, err = DecideJobTrust(cfg, p.Environ, p.Account, euid); err != nil {
		return nil, err
	}
	p.Port = PortPolicyFor(cfg, p.JobTrust)
	p.Config.StrictPort = p.Port.Strict
	for _, hk := range keys.HostKeyFiles() {
		p.HostKeyFiles = append(p.HostKeyFiles, filepath.Join(cfg.StateDir, hk.Name))
	}
	p.IDFile = IDFileFor(cfg, p.Account)
	p.AuthorizedKeysFiles = append([]string{AuthorizedKeysPath(p.Account)}, cfg.AuthorizedKeysFiles...)
	if cfg.AuthorizedKeys != "" {
		p.InlineKeys, p.InlineKeyErrors = keys.ParseAuthorizedKeys(strings.NewReader(cfg.AuthorizedKeys), InlineKeysVariable)
	}
	if p.TrustedCAs, err = keys.LoadTrustedCAs(cfg.TrustedUserCAFiles); err != nil {
		return nil, &ConfigError{err}
	}
	if p.Algorithms, err = algorithmsFor(cfg.Algorithms); err != nil {
		return nil, &ConfigError{err}
	}
	return p, nil
}

// CheckSettings checks the settings that need nothing but the configuration: a state
// directory is given and the id_container key type is known ("" means the default).
func CheckSettings(cfg Config) error {
	if cfg.StateDir == "" {
		return &ConfigError{errors.New("no state directory: pass --state-dir DIR")}
	}
	if cfg.KeyType != "" && cfg.KeyType != keys.KeyTypeEd25519 && cfg.KeyType != keys.KeyTypeRSA {
		return &ConfigError{fmt.Errorf("key type %q: use ed25519 or rsa", cfg.KeyType)}
	}
	if cfg.ClientAliveInterval < 0 {
		// A negative interval once meant "off"; off is DisableClientAlive now, and a
		// caller still using the old convention must not get probes silently.
		return &ConfigError{fmt.Errorf("client alive interval %v: set DisableClientAlive to turn probes off", cfg.ClientAliveInterval)}
	}
	return nil
}

// ResolveAccount looks up the served account (LookupServed) and applies the identity
// rule (CredentialFor).
func ResolveAccount(cfg Config, euid int) (*account.Account, *syscall.Credential, error) {
	acct, err := LookupServed(cfg)
	if err != nil {
		return nil, nil, err
	}
	cred, err := CredentialFor(acct, euid)
	return acct, cred, err
}

// LookupServed looks up cfg.User with cfg.LookupAccount (nil means account.Lookup).
func LookupServed(cfg Config) (*account.Account, error) {
	lookup := cfg.LookupAccount
	if lookup == nil {
		lookup = account.Lookup
	}
	acct, err := lookup(cfg.User)
	var advised *account.AdvisedError
	switch {
	case errors.As(err, &advised) || err != nil && !errors.Is(err, account.ErrNoAccount):
		return nil, &ConfigError{err} // it names its fix (internal/account)
	case err != nil:
		return nil, &ConfigError{fmt.Errorf("%w: pass --user with an account of this container", err)}
	}
	return acct, nil
}

// CredentialFor applies the identity rule to acct for an agent running as euid: root
// serves any account, and its programs run with the credential returned; anyone else
// serves only itself (credential nil).
func CredentialFor(acct *account.Account, euid int) (*syscall.Credential, error) {
	switch {
	case euid == 0:
		return &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: acct.Groups}, nil
	case uint32(euid) != acct.UID:
		return nil, &ConfigError{fmt.Errorf("jobsshd runs as uid %d and can serve only that account, not %q (uid %d): run it as root or drop --user", euid, acct.Name, acct.UID)}
	}
	return nil, nil
}

// EnvironFor is the environment sessions start from under cfg: cfg.Environ,
// filtered as the container's is, or, when nil, the agent's own environment merged over
// PID 1's (environ.Container).
func EnvironFor(cfg Config) []string {
	if cfg.Environ == nil {
		return environ.Container(os.Environ())
	}
	return environ.Merge(cfg.Environ, nil)
}

// DecideJobTrust is jobtrust.Decide for cfg's job trust settings, with the error New
// refuses to start with as a *ConfigError.
func DecideJobTrust(cfg Config, env []string, acct *account.Account, euid int) (jobtrust.Decision, error) {
	s := jobtrust.Settings{Disabled: cfg.DisableJobTrust, Hosts: cfg.JobHosts, KeyFile: cfg.JobKeyFile, Secret: cfg.JobSecret}
	d, err := jobtrust.Decide(s, env, acct, euid == 0)
	if err != nil {
		return d, &ConfigError{err}
	}
	return d, nil
}

// IDFileFor is where id_container is kept: cfg.IDFile, or ~/id_container.
func IDFileFor(cfg Config, acct *account.Account) string {
	if cfg.IDFile != "" {
		return cfg.IDFile
	}
	return filepath.Join(acct.Home, defaultIDFileName)
}

// AuthorizedKeysPath is the account's own key file, ~/.ssh/authorized_keys.
func AuthorizedKeysPath(acct *account.Account) string {
	return filepath.Join(acct.Home, ".ssh", "authorized_keys")
}
