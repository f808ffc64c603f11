package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/atomicfile"
)

// Status is the content of status.json, which platforms read to learn where the agent
// listens and which host keys it presents.
type Status struct {
	PID      int             `json:"pid"`
	Port     int             `json:"port"`
	Bind     string          `json:"bind"`
	User     string          `json:"user"`
	HostKeys []StatusHostKey `json:"host_keys"`
	IDFile   string          `json:"id_file"`
	// IDFileMissing says that there was no usable id_container when the agent started
	// (IDFileProblem says why, with the fix): the home could not be written, or the file
	// there was refused. Logins with other keys work. It describes the start only and is
	// not rewritten (README, status.json): logins read id_container again each time, so
	// a key put in place later logs in while this still says it is missing.
	IDFileMissing bool            `json:"id_file_missing,omitempty"`
	IDFileProblem string          `json:"id_file_problem,omitempty"`
	StartedAt     string          `json:"started_at"`
	Version       string          `json:"version"`
	JobTrust      *StatusJobTrust `json:"job_trust,omitempty"` // absent when job trust is off
	Web           *StatusWeb      `json:"web,omitempty"`       // absent without --web (web_bridge.go)
	// StartTime and BootID, with PID, name the agent's process, so that a platform can
	// tell a live agent from a file left by a killed one (liveness_linux.go); each is
	// absent when /proc does not tell.
	StartTime uint64 `json:"start_time,omitempty"` // field 22 of /proc/PID/stat
	BootID    string `json:"boot_id,omitempty"`    // /proc/sys/kernel/random/boot_id
}

// StatusJobTrust is job trust as status.json reports it; the job host key is the
// ed25519 key of host_keys.
type StatusJobTrust struct {
	Hosts   []string `json:"hosts"`    // the job's hosts
	UserKey string   `json:"user_key"` // fingerprint of the job user key
}

// StatusHostKey is one host key as status.json reports it.
type StatusHostKey struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
}

// StatusFileName is the name of the status file in the state directory.
const StatusFileName = "status.json"

func (s *Server) status() Status {
	st := Status{
		PID:       os.Getpid(),
		Port:      s.Port(),
		Bind:      s.ln.Addr().(*net.TCPAddr).IP.String(),
		User:      s.account.Name,
		IDFile:    s.userKey.PrivatePath,
		StartedAt: s.startedAt.UTC().Format(time.RFC3339),
		Version:   s.cfg.Version,
		Web:       s.web,
	}
	if t, err := processStartTime("self"); err == nil {
		st.StartTime, st.BootID = t, bootID()
	} else {
		s.log.Warn("status.json without start_time: platforms cannot tell it from a stale file", "err", err)
	}
	if s.userKey.Unavailable != nil {
		st.IDFileMissing, st.IDFileProblem = true, s.userKey.Unavailable.Error()
	}
	if t := s.jobTrust; t != nil {
		st.JobTrust = &StatusJobTrust{Hosts: t.Hosts, UserKey: ssh.FingerprintSHA256(t.UserKey.PublicKey())}
	}
	for _, k := range s.hostKeys {
		st.HostKeys = append(st.HostKeys, StatusHostKey{Type: k.PublicKey().Type(), Fingerprint: ssh.FingerprintSHA256(k.PublicKey())})
	}
	return st
}

// removeStatus removes status.json: at start, so that one left by an earlier run does
// not say "listening" before this one is, and at shutdown, when it no longer is. It
// acts in the state directory as opened (statedir), never through its path again.
func (s *Server) removeStatus() {
	if err := s.stateDir.Root.Remove(StatusFileName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("remove stale status file", "path", filepath.Join(s.cfg.StateDir, StatusFileName), "err", err)
	}
}

// writeStatus writes status.json atomically (atomicfile.Replace: a temporary file
// renamed over it), so a platform polling for it never reads half a file. The temporary
// file is created with O_EXCL in the opened state directory and its mode is set through
// its descriptor (fchmod), so nothing planted at a path can be chmodded or written
// instead. The caller holds s.mu (writeStatusLocked), since a host key created after
// Listen rewrites the file (host_keys_later.go).
func (s *Server) writeStatus() error {
	b, err := json.MarshalIndent(s.status(), "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(s.stateDir.Root, StatusFileName, append(b, '\n'), 0o644, nil); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(s.cfg.StateDir, StatusFileName), err)
	}
	return nil
}

// connectHost is the address to show users: the bind address when it is a specific
// one, else the container's hostname (users behind a platform relay substitute theirs).
func (s *Server) connectHost() string {
	ip := s.ln.Addr().(*net.TCPAddr).IP
	if !ip.IsUnspecified() {
		return ip.String()
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "127.0.0.1"
}

// knownHostsName is the agent's name in a known_hosts line: the connect host, with the
// port when it is not 22.
func (s *Server) knownHostsName() string {
	if port := s.Port(); port != 22 {
		return "[" + s.connectHost() + "]:" + strconv.Itoa(port)
	}
	return s.connectHost()
}

// printConnectInfo tells a person how to connect: the ssh command, a ~/.ssh/config block
// (what VS Code Remote-SSH reads) and the known_hosts lines, so that nobody needs
// StrictHostKeyChecking=no.
func (s *Server) printConnectInfo() {
	w := s.cfg.ConnectInfo
	if w == nil {
		return
	}
	host, port, user := s.connectHost(), s.Port(), s.account.Name
	hostPort := s.knownHostsName()
	var b strings.Builder
	fmt.Fprintf(&b, "jobsshd is serving %s on port %d.\n\n", user, port)
	if s.userKey.Unavailable != nil {
		fmt.Fprintf(&b, "There is no id_container key (%v).\nConnect with a key from %s:\n", s.userKey.Unavailable, s.keySourceNames())
	} else {
		fmt.Fprintf(&b, "Connect (private key %s, PuTTY/WinSCP/FileZilla key %s):\n", s.userKey.PrivatePath, s.userKey.PPKPath)
	}
	identity := "id_container"
	if s.userKey.Unavailable != nil {
		identity = "YOUR_KEY"
	}
	fmt.Fprintf(&b, "  ssh -i %s -p %d %s@%s\n\n", identity, port, user, host)
	fmt.Fprintf(&b, "~/.ssh/config block (VS Code Remote-SSH reads it):\n")
	fmt.Fprintf(&b, "  Host %s\n    HostName %s\n    Port %d\n    User %s\n    IdentityFile ~/.ssh/%s\n\n", host, host, port, user, identity)
	fmt.Fprintf(&b, "known_hosts lines (replace host and port if your platform relays the connection):\n")
	for _, k := range s.currentHostKeys() {
		fmt.Fprintf(&b, "  %s %s", hostPort, ssh.MarshalAuthorizedKey(k.PublicKey()))
	}
	s.printWebInfo(&b)
	fmt.Fprint(w, b.String())
}
