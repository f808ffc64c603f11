package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/atomicfile"
	"jobsshd/internal/statedir"
)

// Status is the content of status.json, which platforms read to learn where the agent
// listens, which host keys it presents and whether anyone uses it; `jobsshd status`
// prints it (status_read.go, connect_info.go).
type Status struct {
	PID      int             `json:"pid"`
	Port     int             `json:"port"`
	Bind     string          `json:"bind"`
	User     string          `json:"user"`
	HostKeys []StatusHostKey `json:"host_keys"`
	// HostKeysPending says that a host key is still being created (a new state
	// directory's RSA key, host_keys_later.go); the file is rewritten when it is there.
	HostKeysPending bool   `json:"host_keys_pending,omitempty"`
	IDFile          string `json:"id_file"`
	// IDFilePPK is id_container's PuTTY form, "" when there is no id_container.
	IDFilePPK string `json:"id_file_ppk,omitempty"`
	// IDFileMissing says that there was no usable id_container when the agent started
	// (IDFileProblem says why, with the fix): the home could not be written, or the file
	// there was refused. Logins with other keys work. It describes the start only and is
	// not rewritten (README, status.json): logins read id_container again each time, so
	// a key put in place later logs in while this still says it is missing.
	IDFileMissing bool   `json:"id_file_missing,omitempty"`
	IDFileProblem string `json:"id_file_problem,omitempty"`
	// KeySources are where logins look for keys besides id_container, for the start-up
	// text's advice when there is no id_container.
	KeySources []string `json:"key_sources"`
	// ConnectHost is the host name the start-up text tells users to connect to
	// (connectHost).
	ConnectHost string          `json:"connect_host"`
	StartedAt   string          `json:"started_at"`
	Version     string          `json:"version"`
	JobTrust    *StatusJobTrust `json:"job_trust,omitempty"` // absent when job trust is off
	Web         *StatusWeb      `json:"web,omitempty"`       // absent without --web (web_bridge.go)
	// StartTime and BootID, with PID, name the agent's process, so that a platform can
	// tell a live agent from a file left by a killed one (liveness_linux.go); each is
	// absent when /proc does not tell.
	StartTime uint64 `json:"start_time,omitempty"` // field 22 of /proc/PID/stat
	BootID    string `json:"boot_id,omitempty"`    // /proc/sys/kernel/random/boot_id
	// Live are the figures that change while the agent serves (live_status.go).
	Live StatusLive `json:"live"`
	// dirOwner is the uid that owns the state directory ReadStatus read the file from:
	// the agent runs as that uid (statedir.Check), so Running requires it of the pid.
	dirOwner int
}

// StatusJobTrust is job trust as status.json reports it; the job host key is the
// ed25519 key of host_keys.
type StatusJobTrust struct {
	Hosts   []string `json:"hosts"`    // the job's hosts
	UserKey string   `json:"user_key"` // fingerprint of the job user key
}

// StatusHostKey is one host key as status.json reports it; PublicKey is its
// authorized_keys form ("ssh-ed25519 AAAA..."), what a known_hosts line holds after the
// host.
type StatusHostKey struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
}

// StatusFileName is the name of the status file in the state directory.
const StatusFileName = "status.json"

// status is what status.json says once the agent listens, without the live figures
// (live_status.go adds them at each write).
func (s *Server) status() Status {
	st := Status{
		PID:         os.Getpid(),
		Port:        s.Port(),
		Bind:        s.ln.Addr().(*net.TCPAddr).IP.String(),
		User:        s.account.Name,
		IDFile:      s.userKey.PrivatePath,
		KeySources:  s.keySourceList(),
		ConnectHost: s.connectHost(),
		StartedAt:   s.startedAt.UTC().Format(time.RFC3339),
		Version:     s.cfg.Version,
		Web:         s.web,

		HostKeysPending: len(s.keysLater.files) > 0, // host_keys_later.go
	}
	if t, err := processStartTime("self"); err == nil {
		st.StartTime, st.BootID = t, bootID()
	} else {
		s.log.Warn("status.json without start_time: platforms cannot tell it from a stale file", "err", err)
	}
	if s.userKey.Unavailable != nil {
		st.IDFileMissing, st.IDFileProblem = true, s.userKey.Unavailable.Error()
	} else {
		st.IDFilePPK = s.userKey.PPKPath
	}
	if t := s.jobTrust; t != nil {
		st.JobTrust = &StatusJobTrust{Hosts: t.Hosts, UserKey: ssh.FingerprintSHA256(t.UserKey.PublicKey())}
	}
	for _, k := range s.hostKeys {
		st.HostKeys = append(st.HostKeys, StatusHostKey{Type: k.PublicKey().Type(), Fingerprint: ssh.FingerprintSHA256(k.PublicKey()),
			PublicKey: strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(k.PublicKey())), "\n")})
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

// writeStatus writes st to status.json atomically (atomicfile.Replace: a temporary
// file renamed over it), so a platform polling for it never reads half a file. The
// temporary file is created with O_EXCL in the opened state directory and its mode is
// set through its descriptor (fchmod), so nothing planted at a path can be chmodded or
// written instead.
func (s *Server) writeStatus(st Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(s.stateDir.Root, StatusFileName, append(b, '\n'), 0o644, nil); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(s.cfg.StateDir, StatusFileName), statedir.ReadOnlyAdvice(err))
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

// printConnectInfo prints how to connect (WriteConnectInfo) to Config.ConnectInfo.
func (s *Server) printConnectInfo(st Status) {
	if w := s.cfg.ConnectInfo; w != nil {
		WriteConnectInfo(w, &st)
	}
}
