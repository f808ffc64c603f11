package agent

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

// grant is what authentication gave a connection: which key logged in, where that key
// was found, and the restrictions its authorized_keys line or certificate carries. Every
// later decision about the connection (a pty, a forward, the command a session runs,
// its environment) reads it, so a restriction cannot be forgotten in one place.
type grant struct {
	fingerprint string // SHA256 fingerprint of the key (or of the certificate's key)
	source      string // "path:line", "JOBSSHD_AUTHORIZED_KEYS:line", the id_container path, ...
	certificate string // for a certificate: its key ID, serial and CA, for the log

	forcedCommand    string // run instead of what the client asks (command=, force-command)
	hasForcedCommand bool

	noPTY                 bool
	noPortForwarding      bool // TCP and unix-socket forwarding, both directions
	noAuthAgentForwarding bool

	// forwardTargets holds the line's permitopen= and permitlisten= lists (nil: any);
	// its PermitsOpen and PermitsListen decide.
	forwardTargets keys.KeyOptions
	environment    []string // environment= options, NAME=value

	// noTouchRequired: a security key (sk-*) signature without user presence is
	// accepted (no-touch-required); x/crypto checks the flag itself.
	noTouchRequired bool
}

// grantKey is the key of the *grant in ssh.Permissions.ExtraData.
type grantKey struct{}

// permissions wraps g for x/crypto, which hands it back as ServerConn.Permissions.
func (g *grant) permissions() *ssh.Permissions {
	p := &ssh.Permissions{ExtraData: map[any]any{grantKey{}: g}}
	if g.noTouchRequired {
		p.Extensions = map[string]string{"no-touch-required": ""}
	}
	return p
}

// grantOf returns the grant authentication stored in perms. A connection always has one
// (authenticate is the only way in); a missing one is treated as the most restricted.
func grantOf(perms *ssh.Permissions) *grant {
	if perms != nil {
		if g, ok := perms.ExtraData[grantKey{}].(*grant); ok {
			return g
		}
	}
	return &grant{noPTY: true, noPortForwarding: true, noAuthAgentForwarding: true, hasForcedCommand: true, forcedCommand: "false"}
}

// grantForKeyLine is the grant of an authorized_keys line without a certificate.
func grantForKeyLine(fp string, ak keys.AuthorizedKey) *grant {
	g := &grant{fingerprint: fp, source: fmt.Sprintf("%s:%d", ak.Source, ak.Line)}
	g.restrictByOptions(ak.Opts)
	return g
}

// restrictByOptions applies an authorized_keys line's options to g.
func (g *grant) restrictByOptions(o keys.KeyOptions) {
	if o.HasCommand {
		g.forcedCommand, g.hasForcedCommand = o.Command, true
	}
	g.noPTY = g.noPTY || o.NoPTY
	g.noPortForwarding = g.noPortForwarding || o.NoPortForwarding
	g.noAuthAgentForwarding = g.noAuthAgentForwarding || o.NoAgentForwarding
	g.forwardTargets = keys.KeyOptions{PermitOpen: slices.Clone(o.PermitOpen), PermitListen: slices.Clone(o.PermitListen)}
	g.environment = slices.Clone(o.Environment)
	g.noTouchRequired = o.NoTouchRequired
}

// isSecurityKey reports whether k is a FIDO security key (sk-*), the only kind whose
// signatures carry a touch flag.
func isSecurityKey(k ssh.PublicKey) bool {
	t := k.Type()
	return t == ssh.KeyAlgoSKED25519 || t == ssh.KeyAlgoSKECDSA256
}

// Certificate extensions (PROTOCOL.certkeys) that permit what a certificate without
// them may not do.
const (
	certPermitPTY            = "permit-pty"
	certPermitPortForwarding = "permit-port-forwarding"
	certPermitAuthAgent      = "permit-agent-forwarding"
)

// restrictByCertificate applies a certificate's critical option force-command and its
// missing permit-* extensions to g. A forced command on both the certificate and the
// authorized_keys line must agree (as sshd's auth_cert_options), else the login fails.
// lineNoTouch is the cert-authority line's no-touch-required: as in sshd, a security
// key's certificate may skip the touch only when the certificate and the line both say
// so (x/crypto honours the certificate's extension by itself, so a certificate that
// asks without the line's consent is refused).
func (g *grant) restrictByCertificate(cert *ssh.Certificate, lineNoTouch bool) error {
	_, certNoTouch := cert.Extensions["no-touch-required"]
	if certNoTouch && !lineNoTouch && isSecurityKey(cert.Key) {
		return errors.New("the certificate waives the security key's touch (no-touch-required) but its authorized_keys line does not allow that")
	}
	g.noTouchRequired = certNoTouch && lineNoTouch
	if cmd, ok := cert.CriticalOptions["force-command"]; ok {
		if g.hasForcedCommand && g.forcedCommand != cmd {
			return fmt.Errorf("certificate force-command %q differs from the authorized_keys command= %q", cmd, g.forcedCommand)
		}
		g.forcedCommand, g.hasForcedCommand = cmd, true
	}
	has := func(ext string) bool { _, ok := cert.Extensions[ext]; return ok }
	g.noPTY = g.noPTY || !has(certPermitPTY)
	g.noPortForwarding = g.noPortForwarding || !has(certPermitPortForwarding)
	g.noAuthAgentForwarding = g.noAuthAgentForwarding || !has(certPermitAuthAgent)
	return nil
}
