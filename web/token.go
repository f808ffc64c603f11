package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"jobsshd/internal/atomicfile"
	"jobsshd/jobtrust"
	"jobsshd/keys"
)

// token is the secret every request but /healthz must carry, and where it came from.
type token struct {
	value []byte
	file  string // the file it was read from or generated into; "" for JOBSSHD_WEB_TOKEN
}

// TokenFileName is the generated token's name in the state directory.
const TokenFileName = "web-token"

const (
	generatedTokenBytes = 32 // 256 bits: guessing is hopeless, rate limit or not
	minTokenLength      = 16 // a token given by the operator, in characters
	maxTokenFile        = 4 << 10
)

// loadToken takes the token from Config.Token, Config.TokenFile, or else the state
// directory, where one is generated the first time (32 random bytes, base64url, 0600)
// and kept, so that a bookmarked page survives a restart of the agent.
func loadToken(cfg Config) (token, error) {
	switch {
	case cfg.Token != "" && cfg.TokenFile != "":
		return token{}, errors.New("both --web-token-file and JOBSSHD_WEB_TOKEN are set: keep one")
	case cfg.Token != "":
		return checkedToken(cfg.Token, "", "JOBSSHD_WEB_TOKEN")
	case cfg.TokenFile != "":
		b, err := readOperatorFile(cfg.TokenFile)
		if err != nil {
			return token{}, fmt.Errorf("read --web-token-file: %w", err)
		}
		return checkedToken(strings.TrimSpace(string(b)), cfg.TokenFile, "--web-token-file "+cfg.TokenFile)
	}
	if cfg.StateDir == nil {
		return token{}, errors.New("web: no state directory to keep the token in: pass --web-token-file")
	}
	path := filepath.Join(cfg.StateDirPath, TokenFileName)
	if b, err := readStateFile(cfg.StateDir, TokenFileName); err == nil {
		if t, err := checkedToken(strings.TrimSpace(string(b)), path, path); err == nil {
			return t, nil
		}
		// A damaged or truncated token file is replaced: the state directory is the
		// agent's own, so whoever could write it could also read a good token.
	} else if !errors.Is(err, fs.ErrNotExist) {
		return token{}, fmt.Errorf("read web token %s: %w", path, err)
	}
	raw := make([]byte, generatedTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return token{}, fmt.Errorf("generate web token: %w", err)
	}
	v := base64.RawURLEncoding.EncodeToString(raw)
	if err := atomicfile.Replace(cfg.StateDir, TokenFileName, []byte(v+"\n"), 0o600, nil); err != nil {
		return token{}, fmt.Errorf("write web token %s: %w", path, err)
	}
	return token{value: []byte(v), file: path}, nil
}

func checkedToken(v, file, source string) (token, error) {
	if len(v) < minTokenLength {
		return token{}, fmt.Errorf("the web token from %s has %d characters: use at least %d (e.g. openssl rand -base64 32)", source, len(v), minTokenLength)
	}
	if strings.ContainsAny(v, " \t\r\n\x00") {
		return token{}, fmt.Errorf("the web token from %s contains white space or NUL: use base64url or hex", source)
	}
	return token{value: []byte(v), file: file}, nil
}

// readOperatorFile reads a file the operator named. As root, it must be root's and
// reached through root's directories only (jobtrust.ReadRootOnlyFile), so that the
// served account cannot plant a token of its choosing.
func readOperatorFile(path string) ([]byte, error) {
	if os.Geteuid() == 0 {
		return jobtrust.ReadRootOnlyFile(path, maxTokenFile)
	}
	return keys.ReadRegularFile(path, maxTokenFile)
}

// readStateFile reads name from the opened state directory, bounded.
func readStateFile(dir *os.Root, name string) ([]byte, error) {
	f, err := dir.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close() // read-only
	return io.ReadAll(io.LimitReader(f, maxTokenFile))
}
