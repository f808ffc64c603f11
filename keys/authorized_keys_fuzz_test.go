package keys

import (
	"bytes"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/crypto/ssh"
)

// addSeedFiles adds the content of every file matching pattern under testdata.
func addSeedFiles(f *testing.F, pattern string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds match testdata/%s: %v", pattern, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzAuthorizedKeysMatchXCrypto feeds arbitrary authorized_keys files (the user owns
// the file) to ParseAuthorizedKeys and checks it line by line against a reference built on
// x/crypto's ssh.ParseAuthorizedKey: a line is a key exactly when it is no longer than
// 16 KiB, not blank or a comment, x/crypto parses it (same key, comment and options)
// and ParseKeyOptions takes its options; every other non-blank, non-comment line is a
// LineError naming that line. No panic, whatever the bytes. (FuzzParseAuthorizedKeys
// checks only where keys and errors point.)
func FuzzAuthorizedKeysMatchXCrypto(f *testing.F) {
	addSeedFiles(f, "authorized_keys/*")
	f.Add([]byte(aliceKey + "\r\n\t# comment\n  " + bobKey + " bob\r\r\n" + string(bytes.Repeat([]byte("a"), maxAuthorizedKeyLine+1)) + "\n" + carolKey))
	f.Fuzz(func(t *testing.T, file []byte) {
		keys, errs := ParseAuthorizedKeys(bytes.NewReader(file), "fuzz")
		if len(file) > maxAuthorizedKeysSize {
			return // FuzzParseAuthorizedKeys covers the input past the limit
		}
		type want struct {
			key  *AuthorizedKey
			fail bool
		}
		var wants []want
		lines := bytes.Split(file, []byte("\n"))
		if len(file) > 0 && file[len(file)-1] == '\n' {
			lines = lines[:len(lines)-1]
		}
		for n, line := range lines {
			line = bytes.TrimSuffix(line, []byte("\r"))
			trimmed := bytes.TrimLeft(line, " \t")
			switch {
			case len(line) > maxAuthorizedKeyLine:
				wants = append(wants, want{fail: true})
				continue
			case len(trimmed) == 0 || trimmed[0] == '#':
				wants = append(wants, want{})
				continue
			}
			pub, comment, options, _, err := ssh.ParseAuthorizedKey(trimmed)
			if err != nil {
				wants = append(wants, want{fail: true})
				continue
			}
			opts, err := ParseKeyOptions(options)
			if err != nil {
				wants = append(wants, want{fail: true})
				continue
			}
			wants = append(wants, want{key: &AuthorizedKey{Key: pub, Comment: comment, Options: options, Opts: opts, Source: "fuzz", Line: n + 1}})
		}
		for n, w := range wants {
			line := n + 1
			var gotKey *AuthorizedKey
			for len(keys) > 0 && keys[0].Line == line {
				if gotKey != nil {
					t.Fatalf("line %d: got two keys", line)
				}
				gotKey = &keys[0]
				keys = keys[1:]
			}
			var gotErr *LineError
			for len(errs) > 0 && errs[0].Line == line {
				if gotErr != nil {
					t.Fatalf("line %d: got two errors: %v, %v", line, gotErr, errs[0])
				}
				gotErr = errs[0]
				errs = errs[1:]
			}
			switch {
			case w.fail && (gotErr == nil || gotKey != nil):
				t.Fatalf("line %d %q: got key %v, error %v; want a LineError", line, lines[n], gotKey, gotErr)
			case !w.fail && gotErr != nil:
				t.Fatalf("line %d %q: got %v, want no error", line, lines[n], gotErr)
			case (w.key == nil) != (gotKey == nil):
				t.Fatalf("line %d %q: got key %v, want %v", line, lines[n], gotKey, w.key)
			case w.key != nil && !sameAuthorizedKey(*gotKey, *w.key):
				t.Fatalf("line %d %q: got %+v, want %+v", line, lines[n], *gotKey, *w.key)
			}
			if gotErr != nil && gotErr.Source != "fuzz" {
				t.Fatalf("line %d: error %v names source %q, want \"fuzz\"", line, gotErr, gotErr.Source)
			}
		}
		if len(keys) > 0 || len(errs) > 0 {
			t.Fatalf("got keys %v and errors %v past the %d lines", keys, errs, len(wants))
		}
	})
}

// sameAuthorizedKey compares keys by their wire form, the rest field by field.
func sameAuthorizedKey(a, b AuthorizedKey) bool {
	if !bytes.Equal(a.Key.Marshal(), b.Key.Marshal()) {
		return false
	}
	a.Key, b.Key = nil, nil
	return reflect.DeepEqual(a, b)
}

// FuzzLoadUserKey feeds arbitrary content of ~/id_container (the user owns it and may
// replace it) to loadUserKey, and checks it against x/crypto's ssh.ParsePrivateKey: a
// key it loads is one x/crypto parses, with the same public key; a passphrase-protected
// key gives the public key of its unencrypted part. No panic, whatever the bytes.
func FuzzLoadUserKey(f *testing.F) {
	addSeedFiles(f, "private_keys/[a-z]*[a-z0-9]")
	// What the agent itself writes (an RSA key in the same format is among the files:
	// generating one here would cost a second at every test run).
	key, err := generateKey(KeyTypeEd25519)
	if err != nil {
		f.Fatal(err)
	}
	pem, err := marshalOpenSSHPrivateKey(key, "id_container")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem)
	uid := os.Getuid()
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "id_container")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		priv, pub, err := loadUserKey(path, uid, nil)
		ref, refErr := ssh.ParsePrivateKey(data)
		var missing *ssh.PassphraseMissingError
		switch {
		case err != nil:
			if priv != nil || pub != nil {
				t.Fatalf("got an error %v with keys %T %v", err, priv, pub)
			}
		case priv == nil:
			if pub == nil || !errors.As(refErr, &missing) || missing.PublicKey == nil ||
				!bytes.Equal(missing.PublicKey.Marshal(), pub.Marshal()) {
				t.Fatalf("got no private key and public key %v; x/crypto says %v", pub, refErr)
			}
		default:
			if refErr != nil {
				t.Fatalf("loaded a %T key that x/crypto refuses: %v", priv, refErr)
			}
			if !bytes.Equal(ref.PublicKey().Marshal(), pub.Marshal()) {
				t.Fatalf("got public key %s, x/crypto's is %s", ssh.FingerprintSHA256(pub), ssh.FingerprintSHA256(ref.PublicKey()))
			}
			signer, ok := priv.(crypto.Signer)
			if !ok {
				t.Fatalf("got a %T private key, want a crypto.Signer", priv)
			}
			own, err := ssh.NewPublicKey(signer.Public())
			if err != nil || !bytes.Equal(own.Marshal(), pub.Marshal()) {
				t.Fatalf("the private key's public half %v is not the public key returned, %v", own, err)
			}
		}
	})
}
