package agent

import "golang.org/x/crypto/ssh"

// The algorithms offered. The lists are explicit so that what clients negotiate does not
// change with the x/crypto version, and leave out everything with a known weakness:
// SHA-1 MACs and signatures, CBC, and NIST-curve key exchange. Strict key exchange (the
// Terrapin fix, CVE-2023-48795) is on in x/crypto ≥ v0.17 whenever the client supports it.
var (
	keyExchanges = []string{
		ssh.KeyExchangeMLKEM768X25519, // what OpenSSH ≥ 9.9 asks for first
		ssh.KeyExchangeCurve25519,
		"curve25519-sha256@libssh.org", // the same, under the name older clients use
		ssh.KeyExchangeDH16SHA512,      // for clients without curve25519
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
	// macs are the encrypt-then-MAC modes only (ssh-audit warns on encrypt-and-MAC);
	// OpenSSH ≥ 6.2, PuTTY and paramiko ≥ 2.12 have them, and AES-GCM needs no MAC.
	macs = []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM}
	// publicKeyAuthAlgorithms are the signatures accepted from users: no ssh-rsa (SHA-1).
	publicKeyAuthAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519,
		ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
		// User certificates need no entries of their own: x/crypto checks a
		// certificate's underlying signature algorithm against this list.
	}
)

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
