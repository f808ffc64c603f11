package agent

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

// trustedCA is a certificate authority whose user certificates may log in: a key of a
// --trusted-user-ca file (OpenSSH's TrustedUserCAKeys).
type trustedCA struct {
	key    ssh.PublicKey
	source string // "path:line"
}

// loadTrustedCAs reads --trusted-user-ca files (keys.LoadTrustedCAs).
func loadTrustedCAs(paths []string) ([]trustedCA, error) {
	loaded, err := keys.LoadTrustedCAs(paths)
	if err != nil {
		return nil, err
	}
	cas := make([]trustedCA, len(loaded))
	for i, ca := range loaded {
		cas[i] = trustedCA{key: ca.Key, source: ca.Source}
	}
	return cas, nil
}

// authorizeCertificate accepts a user certificate signed by a trusted CA: one from
// --trusted-user-ca, for which the served account must be one of the certificate's
// principals, or a cert-authority line of a key source, whose principals= (or else the
// account name) must be. The certificate must be valid now, signed with a SHA-2 or
// non-RSA signature, list its principals, carry no critical option we do not know, and
// come from an address its source-address option allows. Its force-command and missing
// permit-* extensions restrict the connection, on top of the line's own options.
func (s *Server) authorizeCertificate(cert *ssh.Certificate, from netip.Addr) (*grant, error) {
	fp := ssh.FingerprintSHA256(cert.Key)
	caFP := ssh.FingerprintSHA256(cert.SignatureKey)
	if cert.CertType != ssh.UserCert {
		return nil, fmt.Errorf("certificate of key %s is a host certificate, not a user certificate", fp)
	}
	caWire := cert.SignatureKey.Marshal()
	var refusals []error
	for _, ca := range s.userCAs.all() {
		if !bytes.Equal(caWire, ca.key.Marshal()) {
			continue
		}
		g, err := s.checkCertificate(cert, from, []string{s.account.Name}, ca.source)
		if err == nil {
			err = g.restrictByCertificate(cert, false)
		}
		if err == nil {
			return g, nil
		}
		refusals = append(refusals, err)
	}
	for _, src := range s.keySources {
		authorized, err := src.Keys()
		if err != nil {
			refusals = append(refusals, err)
		}
		for _, ak := range authorized {
			if !ak.Opts.CertAuthority || !bytes.Equal(caWire, ak.Key.Marshal()) {
				continue
			}
			if err := s.checkKeyLine(ak, from); err != nil {
				refusals = append(refusals, err)
				continue
			}
			if err := keys.CheckCAKey(ak.Key); err != nil {
				refusals = append(refusals, fmt.Errorf("%s:%d: %w", ak.Source, ak.Line, err))
				continue
			}
			principals := ak.Opts.Principals
			if len(principals) == 0 {
				principals = []string{s.account.Name}
			}
			g, err := s.checkCertificate(cert, from, principals, fmt.Sprintf("%s:%d", ak.Source, ak.Line))
			if err != nil {
				refusals = append(refusals, err)
				continue
			}
			g.restrictByOptions(ak.Opts)
			if err := g.restrictByCertificate(cert, ak.Opts.NoTouchRequired); err != nil {
				refusals = append(refusals, fmt.Errorf("%s:%d: %w", ak.Source, ak.Line, err))
				continue
			}
			return g, nil
		}
	}
	if len(refusals) > 0 {
		return nil, fmt.Errorf("certificate %q of key %s: %w", cert.KeyId, fp, errors.Join(refusals...))
	}
	return nil, fmt.Errorf("certificate %q of key %s is signed by CA %s, which is not trusted here (--trusted-user-ca, or a cert-authority line)", cert.KeyId, fp, caFP)
}

// checkCertificate checks cert, signed by the CA found at caSource, against the
// principals one of which it must name, the clock and the client address.
func (s *Server) checkCertificate(cert *ssh.Certificate, from netip.Addr, principals []string, caSource string) (*grant, error) {
	// sshd refuses a certificate without principals ("certificate lacks principal
	// list"); x/crypto's CheckCert would accept it for anyone.
	if len(cert.ValidPrincipals) == 0 {
		return nil, fmt.Errorf("%s: the certificate lists no principals", caSource)
	}
	i := slices.IndexFunc(principals, func(p string) bool { return slices.Contains(cert.ValidPrincipals, p) })
	if i < 0 {
		return nil, fmt.Errorf("%s: the certificate's principals %q do not include %q", caSource, cert.ValidPrincipals, strings.Join(principals, ","))
	}
	// The CA's signature over the certificate must not use SHA-1 (OpenSSH ≥ 8.2's
	// CASignatureAlgorithms leaves ssh-rsa out). A DSA CA (ssh-dss, SHA-1 only) cannot
	// occur: x/crypto ≥ v0.59.0 does not parse a certificate whose signature key is DSA.
	if cert.Signature == nil || cert.Signature.Format == ssh.KeyAlgoRSA {
		return nil, fmt.Errorf("%s: the certificate is signed with SHA-1 (%s): re-sign it with ssh-keygen -t rsa-sha2-512", caSource, cert.Signature.Format)
	}
	checker := ssh.CertChecker{
		SupportedCriticalOptions: []string{"force-command", "source-address"},
		Clock:                    s.now,
	}
	if err := checker.CheckCert(principals[i], cert); err != nil {
		return nil, fmt.Errorf("%s: %w", caSource, err)
	}
	if list, ok := cert.CriticalOptions["source-address"]; ok {
		if err := checkSourceAddress(list, from); err != nil {
			return nil, fmt.Errorf("%s: %w", caSource, err)
		}
	}
	return &grant{
		fingerprint: ssh.FingerprintSHA256(cert.Key),
		source:      caSource,
		certificate: fmt.Sprintf("id %q serial %d principal %q ca %s", cert.KeyId, cert.Serial, principals[i], ssh.FingerprintSHA256(cert.SignatureKey)),
	}, nil
}

// checkSourceAddress applies a certificate's source-address critical option: a comma
// separated list of addresses and CIDR prefixes (parseSourceAddress), one of which must
// contain from.
func checkSourceAddress(list string, from netip.Addr) error {
	prefixes, err := parseSourceAddress(list)
	if err != nil {
		return err
	}
	for _, p := range prefixes {
		if from.IsValid() && p.Contains(from) {
			return nil
		}
	}
	return fmt.Errorf("source %s is not in the certificate's source-address %q", from, list)
}
