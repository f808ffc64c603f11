package agent

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// What the fuzz targets of this package share: a reference decoder for SSH wire fields,
// written from RFC 4251 §5 independently of x/crypto's reflection-based Unmarshal, and
// the splitting of a fuzz input into records.

// wireFields decodes payload as the fields spec names, in order ('s' string, 'u'
// uint32, 'b' boolean), and reports whether the payload is exactly those fields.
func wireFields(payload []byte, spec string) (strs []string, nums []uint32, ok bool) {
	for _, field := range spec {
		switch field {
		case 's':
			if len(payload) < 4 {
				return nil, nil, false
			}
			n := binary.BigEndian.Uint32(payload)
			if uint64(len(payload)-4) < uint64(n) {
				return nil, nil, false
			}
			strs = append(strs, string(payload[4:4+n]))
			payload = payload[4+n:]
		case 'u':
			if len(payload) < 4 {
				return nil, nil, false
			}
			nums = append(nums, binary.BigEndian.Uint32(payload))
			payload = payload[4:]
		case 'b':
			if len(payload) < 1 {
				return nil, nil, false
			}
			payload = payload[1:]
		}
	}
	return strs, nums, len(payload) == 0
}

// fuzzRecord is one request of a fuzz script: which of a target's kinds, and its
// payload.
type fuzzRecord struct {
	kind    int
	payload []byte
}

// maxFuzzRecords bounds the requests one input makes, so that one run stays short.
const maxFuzzRecords = 200

// splitRecords reads script as records of a kind byte (taken modulo kinds), a 2-byte
// length and that many payload bytes; a short tail is one last record with what is
// left.
func splitRecords(script []byte, kinds int) []fuzzRecord {
	var recs []fuzzRecord
	for len(script) > 0 && len(recs) < maxFuzzRecords {
		kind := int(script[0]) % kinds
		script = script[1:]
		n := len(script)
		if len(script) >= 2 {
			n = int(binary.BigEndian.Uint16(script))
			script = script[2:]
		}
		n = min(n, len(script))
		recs = append(recs, fuzzRecord{kind: kind, payload: script[:n]})
		script = script[n:]
	}
	return recs
}

// joinRecords is the inverse of splitRecords, for seeds.
func joinRecords(recs ...fuzzRecord) []byte {
	var out []byte
	for _, r := range recs {
		out = append(out, byte(r.kind))
		out = binary.BigEndian.AppendUint16(out, uint16(len(r.payload)))
		out = append(out, r.payload...)
	}
	return out
}

// fuzzClient logs in to a server that serves the account the test runs as with every
// kind of forwarding turned off: the fuzzed requests are parsed and checked, and none
// of them dials, listens or starts a program. The connection is shared by every run of
// one fuzzing process.
func fuzzClient(f *testing.F) *ssh.Client {
	f.Helper()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: f.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(f, acct, func(c *Config) {
		c.DisableTCPForwarding = true
		c.DisableUnixForwarding = true
		c.DisableAgentForwarding = true
	})
	return dialClient(f, srv, signer)
}

// fuzzReplyTimeout bounds the wait for any one answer of the server.
const fuzzReplyTimeout = 10 * time.Second

// within runs fn and fails the test when it has not returned within fuzzReplyTimeout:
// a request the server never answers stalls the client's connection.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(fuzzReplyTimeout):
		t.Fatalf("%s: no answer within %v", what, fuzzReplyTimeout)
	}
}

// checkConnectionAlive checks that the server still answers a global request on the
// shared connection after a run.
func checkConnectionAlive(t *testing.T, client *ssh.Client) {
	t.Helper()
	within(t, "keepalive after the run", func() {
		if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			t.Errorf("keepalive after the run: %v", err)
		}
	})
}
