package agent

import (
	"fmt"
	"slices"

	"golang.org/x/crypto/ssh"
)

// Algorithm profiles (Config.Algorithms). Both leave out everything with a known
// weakness: SHA-1 MACs and signatures, CBC, and NIST-curve key exchange. Strict key
// exchange (the Terrapin fix, CVE-2023-48795) is on in x/crypto ≥ v0.17 whenever the
// client supports it. The lists are explicit so that what clients negotiate does not
// change with the x/crypto version.
const (
	// AlgorithmsDefault lets every client on the README's list connect: it adds the
	// encrypt-and-MAC SHA-2 MACs after the encrypt-then-MAC ones, for libssh2 (curl
	// sftp://, libgit2, PHP) and Dropbear's dbclient, which have no ETM MAC. ssh-audit
	// warns about those two MACs and nothing else.
	AlgorithmsDefault = "default"
	// AlgorithmsStrict offers only what ssh-audit passes without a warning; libssh2
	// and dbclient cannot connect.
	AlgorithmsStrict = "strict"
)

// algorithmProfiles are the profile names accepted, in the order help text lists them.
var algorithmProfiles = []string{AlgorithmsDefault, AlgorithmsStrict}

var (
	// keyExchanges has no finite-field Diffie-Hellman: with diffie-hellman-group16-sha512
	// a client that sends a random e and does no math cost the agent 53-55 ms of CPU per
	// handshake against about 1 ms for curve25519 (issue 10, item 6), so a handful of
	// unauthenticated clients slowed every user. Every client we support has curve25519:
	// OpenSSH ≥ 6.5, PuTTY ≥ 0.68 (and FileZilla and WinSCP, which use PuTTY's code),
	// paramiko ≥ 2.7 (through python3-cryptography's X25519; Debian 12 ships 2.12),
	// asyncssh 2.10, libssh2 1.10 (curve25519-sha256 since 1.9.0), Dropbear 2022.83 and
	// x/crypto (rclone). The one client that had group16 and not curve25519 is
	// paramiko 2.6 (paramiko/paramiko#1233 added group16; curve25519 came next).
	keyExchanges = []string{
		ssh.KeyExchangeMLKEM768X25519, // what OpenSSH ≥ 9.9 asks for first
		ssh.KeyExchangeCurve25519,
		"curve25519-sha256@libssh.org", // the same, under the name older clients use
	}
	// ciphers leaves out chacha20-poly1305, which OpenSSH clients ask for first: x/crypto
	// has no assembly for its keystream on amd64, and with it exec transfers ran at 0.5-0.7×
	// OpenSSH's speed, against 1.0× with aes128-ctr (what OpenSSH 9 clients pick next) and
	// more with AES-GCM (what OpenSSH 10 clients pick next). BENCHMARKS.md has the figures.
	// AES-CTR stays for clients without GCM (paramiko < 3.5, PuTTY < 0.78).
	ciphers = []string{
		ssh.CipherAES128GCM, ssh.CipherAES256GCM,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR,
	}
	// strictMACs are the encrypt-then-MAC modes only (ssh-audit warns on encrypt-and-MAC);
	// OpenSSH ≥ 6.2, PuTTY and paramiko ≥ 2.12 have them, and AES-GCM needs no MAC.
	strictMACs = []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM}
	// defaultMACs add the encrypt-and-MAC SHA-2 MACs last. A client picks the first of
	// its own list that the server offers (RFC 4253 §7.1), and every client that has an
	// ETM MAC lists it before these, so only clients without ETM (libssh2, dbclient)
	// negotiate them, and only with AES-CTR (GCM needs no MAC).
	defaultMACs = append(slices.Clone(strictMACs), ssh.HMACSHA256, ssh.HMACSHA512)
	// publicKeyAuthAlgorithms are the signatures accepted from users: no ssh-rsa (SHA-1).
	publicKeyAuthAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519,
		ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
		// User certificates need no entries of their own: x/crypto checks a
		// certificate's underlying signature algorithm against this list.
	}
)

// algorithmsFor is the transport configuration of a profile ("" means the default).
func algorithmsFor(profile string) (ssh.Config, error) {
	c := ssh.Config{
		KeyExchanges: slices.Clone(keyExchanges),
		Ciphers:      slices.Clone(ciphers),
		MACs:         slices.Clone(defaultMACs),
	}
	switch profile {
	case "", AlgorithmsDefault:
	case AlgorithmsStrict:
		c.MACs = slices.Clone(strictMACs)
	default:
		return ssh.Config{}, fmt.Errorf("algorithm profile %q: use one of %v", profile, algorithmProfiles)
	}
	return c, nil
}

// hostKeySigner restricts an RSA host key to SHA-2 signatures; other keys sign with
// their only algorithm.
func hostKeySigner(s ssh.Signer) (ssh.Signer, error) {
	if s.PublicKey().Type() != ssh.KeyAlgoRSA {
		return s, nil
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok {
		return s, nil
	}
	return ssh.NewSignerWithAlgorithms(as, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256})
}
