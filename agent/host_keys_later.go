package agent

import (
	"crypto"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

// hostKeysLater are the host keys the agent creates once it listens rather than before:
// a new RSA-3072 host key takes from a few hundred milliseconds to seconds to generate
// (keys.HostKeysReady), and a container whose state directory is not kept generates one
// at every start. Until it exists the agent serves with its ed25519 key, which OpenSSH
// since 6.5, PuTTY since 0.68, Dropbear since 2020.79, libssh2 since 1.9 and paramiko
// since 2.2 accept; status.json (with host_keys_pending until then) and the ssh
// configuration gain the RSA key as soon as it is written (BENCHMARKS.md, "logins and
// start-up").
type hostKeysLater struct {
	files []keys.HostKeyFile // what keys.HostKeysReady left for later
	// generate generates one of files: keys.GenerateHostKey, or a test's stand-in, set
	// between New and Listen.
	generate func(keys.HostKeyFile) (crypto.Signer, error)
	mu       sync.Mutex    // held while a key is stored; Shutdown takes it to stop the rest
	stopped  bool          // Shutdown began: keys generated from now on are dropped
	done     chan struct{} // closed when the goroutine has ended; nil before Listen
}

// createHostKeysLater starts creating the host keys New left for later on a goroutine
// of their own. Shutdown does not wait for a key being generated (seconds of arithmetic
// whose result it then drops: the next start generates it again), only for one being
// written (stopHostKeysLater), so that a key file is never cut short and a stop right
// after the start is not held up. A key that cannot be created is logged, and the agent
// goes on serving without it, to try again at its next start.
func (s *Server) createHostKeysLater() {
	later := &s.keysLater
	if len(later.files) == 0 {
		return
	}
	generate := later.generate
	if generate == nil {
		generate = keys.GenerateHostKey
	}
	later.done = make(chan struct{})
	go func() {
		defer close(later.done)
		for i, spec := range later.files {
			pending := i < len(later.files)-1
			key, err := generate(spec)
			if err == nil {
				err = s.storeHostKey(spec, key, pending)
			}
			if err != nil {
				s.log.Error("host key not created; serving without it until the next start", "file", spec.Name, "err", err)
				_ = s.updateHostKeys(nil, pending) // without a key it cannot fail
			}
		}
	}()
}

// storeHostKey writes key as spec's file and serves it, unless Shutdown has begun.
func (s *Server) storeHostKey(spec keys.HostKeyFile, key crypto.Signer, pending bool) error {
	s.keysLater.mu.Lock()
	defer s.keysLater.mu.Unlock()
	if s.keysLater.stopped {
		return nil
	}
	signer, err := keys.StoreHostKey(s.stateDir.Root, spec, key)
	if err != nil {
		return err
	}
	return s.updateHostKeys(signer, pending)
}

// stopHostKeysLater waits for a host key being written, and drops the ones still being
// generated.
func (s *Server) stopHostKeysLater() {
	s.keysLater.mu.Lock()
	s.keysLater.stopped = true
	s.keysLater.mu.Unlock()
}

// updateHostKeys adds k, when not nil, to the keys the agent serves (for the
// connections that start from now on), to status.json and to the known_hosts lines
// printed at start, and rewrites status.json with host_keys_pending set to pending,
// unless the agent is shutting down. s.mu is held throughout, so that Shutdown, which
// removes status.json under it, cannot come between the check and the write.
func (s *Server) updateHostKeys(k ssh.Signer, pending bool) error {
	var signer ssh.Signer
	if k != nil {
		var err error
		if signer, err = hostKeySigner(k); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil // the key is on disk for the next start; status.json is gone
	}
	s.statusBase.mu.Lock()
	defer s.statusBase.mu.Unlock()
	st := &s.statusBase.st
	st.HostKeysPending = pending
	var entry StatusHostKey
	if signer != nil {
		s.hostKeys = append(s.hostKeys, signer)
		s.sshConfig.Store(s.newSSHConfig())
		pub := k.PublicKey()
		s.log.Info("host key created", "type", pub.Type(), "fingerprint", ssh.FingerprintSHA256(pub))
		entry = StatusHostKey{Type: pub.Type(), Fingerprint: ssh.FingerprintSHA256(pub),
			PublicKey: strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")}
		st.HostKeys = append(slices.Clone(st.HostKeys), entry) // the live writer may hold the old slice
	}
	next := *st
	next.Live = s.live.figures()
	if err := s.writeStatus(next); err != nil {
		// The key is served; status.json still names the keys it had.
		s.log.Error("status.json not rewritten with the new host key", "err", err)
	}
	if w := s.cfg.ConnectInfo; w != nil && signer != nil {
		fmt.Fprintf(w, "\nknown_hosts line of the %s host key, created since:\n  %s %s\n", entry.Type, knownHostsName(st), entry.PublicKey)
	}
	return nil
}

// statusBase is status.json as Listen wrote it, without the live figures, and with the
// host keys created since: what the live figures' writer (live_status.go) and
// updateHostKeys each rewrite the file from, one at a time.
type statusBase struct {
	mu sync.Mutex
	st Status
}

func (b *statusBase) set(st Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st = st
}
