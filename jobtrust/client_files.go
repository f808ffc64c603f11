package jobtrust

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// JobKeyFileName is the file in ~/.ssh that holds the job user key for the ssh client,
// unless the job key file already is in ~/.ssh.
const JobKeyFileName = "id_jobsshd_job"

// ClientFiles is what makes `ssh <job host>` work from the account's shell with
// OpenSSH's client and nothing else: the job user key, a ~/.ssh/config block that uses
// it for the job's hosts, and a ~/.ssh/known_hosts block with the job host key.
type ClientFiles struct {
	SSHDir  string        // the account's ~/.ssh (created 0700 when missing)
	Hosts   []string      // the job's hosts
	Port    int           // the port jobsshd listens on (every worker uses the same)
	User    string        // the served account
	HostKey ssh.PublicKey // the job host key
	// KeyFile is the job key file when there is one (--job-key), else "". When it is
	// in SSHDir the config names it; otherwise KeyData, the job user key's private
	// key, is written to SSHDir/id_jobsshd_job (0600) and the config names that.
	KeyFile string
	KeyData []byte
}

// Write brings the three files up to date and returns the paths it changed: nothing is
// written when a file already says what it should, so restarts leave the files
// byte-identical. Call it with the account's identity (internal/asuser), so that what
// it creates belongs to the account and it can reach only what the account may.
func (c ClientFiles) Write() (changed []string, err error) {
	if err := os.Mkdir(c.SSHDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", c.SSHDir, err)
	}
	identity := c.KeyFile
	if identity == "" || filepath.Dir(filepath.Clean(identity)) != filepath.Clean(c.SSHDir) {
		identity = filepath.Join(c.SSHDir, JobKeyFileName)
		wrote, err := writeKeyFile(identity, c.KeyData)
		if err != nil {
			return nil, err
		}
		if wrote {
			changed = append(changed, identity)
		}
	}
	config, err := c.configBlock(identity)
	if err != nil {
		return changed, err
	}
	files := []struct {
		name, block string
		atTop       bool
		mode        fs.FileMode
	}{
		// At the top: OpenSSH takes the first value it finds for each option, so a
		// "Host *" or global option further down must not override the job's.
		{"config", config, true, 0o600},
		{"known_hosts", c.knownHostsBlock(), false, 0o644},
	}
	for _, f := range files {
		path := filepath.Join(c.SSHDir, f.name)
		old, err := readSmallFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return changed, err
		}
		updated, err := withManagedBlock(old, f.block, f.atTop)
		if err != nil {
			return changed, fmt.Errorf("%s: %w", path, err)
		}
		if bytes.Equal(updated, old) && old != nil {
			continue
		}
		if err := replaceFile(path, updated, f.mode); err != nil {
			return changed, err
		}
		changed = append(changed, path)
	}
	return changed, nil
}

// writeKeyFile writes the job key to path (0600) unless path already holds that key
// (the OpenSSH format has random check bytes, so an equal key is not always equal
// bytes). It reports whether it wrote.
func writeKeyFile(path string, data []byte) (bool, error) {
	old, err := readSmallFile(path)
	if err == nil && (bytes.Equal(old, data) || sameKey(old, data)) {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			// ssh refuses a private key others can read ("UNPROTECTED PRIVATE KEY FILE").
			return true, os.Chmod(path, 0o600)
		}
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, replaceFile(path, data, 0o600)
}

// sameKey reports whether two private key files hold the same key.
func sameKey(a, b []byte) bool {
	ka, err := ssh.ParsePrivateKey(a)
	if err != nil {
		return false
	}
	kb, err := ssh.ParsePrivateKey(b)
	return err == nil && bytes.Equal(ka.PublicKey().Marshal(), kb.PublicKey().Marshal())
}

// configBlock is the ~/.ssh/config block for the job's hosts. StrictHostKeyChecking and
// UserKnownHostsFile make the host key in known_hosts the only one accepted, whatever
// the rest of the file says (Volcano's own config turns checking off and sends
// known_hosts to /dev/null); CheckHostIP no stops ssh from adding address lines to
// known_hosts. The closing "Host *" makes what follows the block global again, as it
// was before the block was put in front of it.
func (c ClientFiles) configBlock(identity string) (string, error) {
	id, err := configPath(identity)
	if err != nil {
		return "", err
	}
	known, err := configPath(filepath.Join(c.SSHDir, "known_hosts"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(beginMarker + "\n")
	b.WriteString("# ssh between the workers of this job; jobsshd rewrites this block at every start.\n")
	fmt.Fprintf(&b, "Host %s\n", strings.Join(c.Hosts, " "))
	fmt.Fprintf(&b, "    User %s\n    Port %d\n", c.User, c.Port)
	fmt.Fprintf(&b, "    IdentityFile %s\n    IdentitiesOnly yes\n", id)
	fmt.Fprintf(&b, "    StrictHostKeyChecking yes\n    UserKnownHostsFile %s\n    CheckHostIP no\n", known)
	b.WriteString("Host *\n")
	b.WriteString(endMarker + "\n")
	return b.String(), nil
}

// configPath quotes a path for ssh_config(5): '%' starts a token there, so it is
// doubled; a double quote cannot be written at all.
func configPath(p string) (string, error) {
	if strings.ContainsAny(p, "\"\n") {
		return "", fmt.Errorf("path %q cannot be written into ~/.ssh/config", p)
	}
	return `"` + strings.ReplaceAll(p, "%", "%%") + `"`, nil
}

// knownHostsBlock is the ~/.ssh/known_hosts block: one line naming every job host as
// ssh looks it up, the bare name for port 22 and "[host]:port" otherwise. Only that
// form for another port: a bare name would also claim the job host key for an sshd on
// port 22 of the same host, and ssh would then report that server's key as changed.
func (c ClientFiles) knownHostsBlock() string {
	names := make([]string, 0, len(c.Hosts))
	for _, h := range c.Hosts {
		// ssh looks up the name as the user typed it (openssh-portable
		// sshconnect.c get_hostfile_hostname_ipaddr; it matches known_hosts names
		// without regard to case), so an address is written as listed, which the
		// config's Host line matches, and also in its canonical form (compressed IPv6)
		// when that differs: "0:0::1" and "::1".
		forms := []string{h}
		if a, err := netip.ParseAddr(h); err == nil && a.String() != h {
			forms = append(forms, a.String())
		}
		for _, name := range forms {
			if c.Port != 22 {
				name = "[" + name + "]:" + strconv.Itoa(c.Port)
			}
			names = append(names, name)
		}
	}
	return beginMarker + "\n" + strings.Join(names, ",") + " " + string(ssh.MarshalAuthorizedKey(c.HostKey)) + endMarker + "\n"
}
