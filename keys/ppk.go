package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/ssh"
)

// MarshalPPK returns key in PuTTY's private key file format, version 2, unencrypted
// ("Encryption: none"), for PuTTY, Pageant, WinSCP and FileZilla users. key is an
// ed25519.PrivateKey (value or pointer, as ssh.ParseRawPrivateKey returns it) or a
// two-prime *rsa.PrivateKey; anything else is an error. comment must be one line.
//
// Version 2 rather than 3 on purpose: every PuTTY release since 0.52 reads version 2
// (ed25519 keys need PuTTY 0.68 or later, whatever the format), while version 3 files are refused by
// PuTTY before 0.75 and by the WinSCP and FileZilla releases built on it, which users
// on locked-down Windows machines still have. Version 3's gain is Argon2 for encrypted
// files; an unencrypted file gets nothing from it.
//
// Format: PuTTY's sshpubk.c and the "PPK file format" appendix of the PuTTY manual. The
// public blob is the SSH wire encoding of the public key; the private blob is
// mpint d, mpint p, mpint q, mpint iqmp (q⁻¹ mod p) for RSA and string(32-byte seed)
// for ed25519. The MAC is HMAC-SHA-1 keyed with SHA-1("putty-private-key-file-mac-key")
// (plus the passphrase, which is empty here) over the string-encoded algorithm,
// encryption, comment, public blob and private blob.
func MarshalPPK(key crypto.PrivateKey, comment string) ([]byte, error) {
	if strings.ContainsAny(comment, "\r\n") {
		return nil, errors.New("marshal ppk: comment must be a single line")
	}
	var algo string
	var private []byte
	switch k := key.(type) {
	case *ed25519.PrivateKey:
		if k == nil {
			return nil, errors.New("marshal ppk: nil ed25519 key")
		}
		return MarshalPPK(*k, comment)
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("marshal ppk: ed25519 key is %d bytes, want %d", len(k), ed25519.PrivateKeySize)
		}
		algo = ssh.KeyAlgoED25519
		private = appendSSHString(nil, k.Seed())
	case *rsa.PrivateKey:
		if k == nil || len(k.Primes) != 2 {
			return nil, errors.New("marshal ppk: rsa key must have exactly two primes")
		}
		p, q := k.Primes[0], k.Primes[1]
		iqmp := new(big.Int).ModInverse(q, p)
		if iqmp == nil {
			return nil, errors.New("marshal ppk: rsa key primes are not coprime")
		}
		algo = ssh.KeyAlgoRSA
		private = appendSSHMPInt(nil, k.D)
		private = appendSSHMPInt(private, p)
		private = appendSSHMPInt(private, q)
		private = appendSSHMPInt(private, iqmp)
	default:
		return nil, fmt.Errorf("marshal ppk: unsupported key type %T", key)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal ppk: %w", err)
	}
	public := signer.PublicKey().Marshal()

	const encryption = "none"
	macKey := sha1.Sum([]byte("putty-private-key-file-mac-key"))
	mac := hmac.New(sha1.New, macKey[:])
	for _, field := range [][]byte{[]byte(algo), []byte(encryption), []byte(comment), public, private} {
		mac.Write(appendSSHString(nil, field))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "PuTTY-User-Key-File-2: %s\n", algo)
	fmt.Fprintf(&b, "Encryption: %s\n", encryption)
	fmt.Fprintf(&b, "Comment: %s\n", comment)
	writePPKLines(&b, "Public-Lines", public)
	writePPKLines(&b, "Private-Lines", private)
	fmt.Fprintf(&b, "Private-MAC: %s\n", hex.EncodeToString(mac.Sum(nil)))
	return []byte(b.String()), nil
}

// writePPKLines writes blob as a "<header>: N" line followed by N lines of base64, 64
// characters each, as PuTTY writes them.
func writePPKLines(b *strings.Builder, header string, blob []byte) {
	enc := base64.StdEncoding.EncodeToString(blob)
	n := (len(enc) + 63) / 64
	fmt.Fprintf(b, "%s: %d\n", header, n)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n")
}

// appendSSHString appends s as an SSH string (RFC 4251 §5: uint32 length, bytes).
func appendSSHString(buf, s []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// appendSSHMPInt appends a non-negative n as an SSH mpint (RFC 4251 §5): big-endian
// two's complement, with a leading zero byte when the top bit is set; zero is empty.
func appendSSHMPInt(buf []byte, n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return appendSSHString(buf, b)
}
