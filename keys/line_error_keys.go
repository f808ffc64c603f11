package keys

import (
	"bytes"
	"encoding/base64"

	"golang.org/x/crypto/ssh"
)

// maxKeysNamedPerLine bounds the keys kept for one rejected line (a line is at most
// 16 KiB, so this only bounds work on a hostile file).
const maxKeysNamedPerLine = 8

// MayName reports whether the rejected line may have named key: it did (a word of the
// line is key's base64 blob, whatever else on the line was wrong: options, quoting, the
// key type), or its content was never read (too long, past the file's size limit, a
// read error). A caller that must not use a key whose restricting line was rejected
// (the job key: issue 10, item 19) refuses the key when this is true.
func (e *LineError) MayName(key ssh.PublicKey) bool {
	if e.unread {
		return true
	}
	wire := key.Marshal()
	for _, k := range e.named {
		if bytes.Equal(k.Marshal(), wire) {
			return true
		}
	}
	return false
}

// keysNamedIn finds the public keys a line names: every blank-separated word that is
// the base64 of an SSH public key. A rejected line's options may be broken in ways that
// hide where the key starts (an unterminated quote), so every word is tried.
func keysNamedIn(line []byte) []ssh.PublicKey {
	var named []ssh.PublicKey
	for _, word := range bytes.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '"' || r == ',' }) {
		if len(word) < 32 {
			continue // shorter than any key's base64
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(word)))
		n, err := base64.StdEncoding.Decode(raw, word)
		if err != nil {
			continue
		}
		if k, err := ssh.ParsePublicKey(raw[:n]); err == nil {
			if named = append(named, k); len(named) == maxKeysNamedPerLine {
				break
			}
		}
	}
	return named
}
