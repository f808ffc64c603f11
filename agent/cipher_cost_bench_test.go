package agent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/poly1305"
)

// cipherCostPacket is the payload of one full SSH data packet as OpenSSH clients size
// them (32 KiB).
const cipherCostPacket = 32 << 10

// BenchmarkPacketCipherCost measures the cryptographic work behind one 32 KiB packet
// for each way a client may protect a connection to the agent, with the primitives
// x/crypto/ssh uses for them: what a transfer's CPU per byte starts from. OpenSSH 9.2
// clients ask for chacha20-poly1305 first, which the agent does not offer
// (algorithms.go), and then take aes128-ctr with hmac-sha2-256-etm; OpenSSH 10 clients
// take AES-GCM. BENCHMARKS.md compares the figures with a profile of a transfer.
func BenchmarkPacketCipherCost(b *testing.B) {
	buf := make([]byte, cipherCostPacket)
	b.Run("aes128-gcm", func(b *testing.B) {
		block, _ := aes.NewCipher(make([]byte, 16))
		gcm, _ := cipher.NewGCM(block)
		nonce, out := make([]byte, gcm.NonceSize()), make([]byte, 0, len(buf)+gcm.Overhead())
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			out = gcm.Seal(out[:0], nonce, buf, nil)
		}
	})
	b.Run("aes128-ctr+hmac-sha2-256-etm", func(b *testing.B) {
		block, _ := aes.NewCipher(make([]byte, 16))
		ctr := cipher.NewCTR(block, make([]byte, aes.BlockSize))
		mac := hmac.New(sha256.New, make([]byte, 32))
		var sum []byte
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			ctr.XORKeyStream(buf, buf)
			mac.Reset()
			mac.Write(buf)
			sum = mac.Sum(sum[:0])
		}
	})
	b.Run("chacha20-poly1305", func(b *testing.B) {
		// x/crypto/ssh's chacha20-poly1305@openssh.com: a ChaCha20 keystream per packet
		// (generic Go code on amd64) and a Poly1305 tag over the ciphertext.
		key, nonce := make([]byte, chacha20.KeySize), make([]byte, chacha20.NonceSize)
		var polyKey [32]byte
		var tag [poly1305.TagSize]byte
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			c, _ := chacha20.NewUnauthenticatedCipher(key, nonce)
			c.XORKeyStream(buf, buf)
			poly1305.Sum(&tag, buf, &polyKey)
		}
	})
}
