package agent

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// sessionRequestKinds are the channel requests FuzzSessionRequests sends (RFC 4254 §6,
// and OpenSSH's auth-agent-req@openssh.com), with the fields each must be made of.
var sessionRequestKinds = []struct {
	name string
	spec string // wireFields spec of a well-formed payload
}{
	{"env", "ss"},                         // §6.4
	{"pty-req", "suuuus"},                 // §6.2, with the encoded terminal modes
	{"window-change", "uuuu"},             // §6.7
	{"signal", "s"},                       // §6.9
	{"exec", "s"},                         // §6.5
	{"subsystem", "s"},                    // §6.5
	{"shell", ""},                         // §6.5
	{"auth-agent-req@openssh.com", ""},    // OpenSSH PROTOCOL.agent
	{"x11-req", "bssu"},                   // §6.3.1
	{"xon-xoff", "b"},                     // §6.8
	{"break", "u"},                        // RFC 4335
	{"eow@openssh.com", ""},               // OpenSSH PROTOCOL
	{"no-such-request@example.com", "ss"}, // unknown
}

// FuzzSessionRequests sends scripts of session channel requests with arbitrary payloads
// to a running server, over a real SSH connection, and checks what the client can
// see:
//   - every request is answered, and the connection outlives the script;
//   - the server accepts an env only when it is exactly a name and a value, the name
//     matches AcceptEnv and neither smuggles a '=' in the name or a NUL, and at most
//     maxClientEnv of them per session;
//   - it accepts pty-req only when well formed and the first, window-change only
//     after an accepted pty-req and when well formed;
//   - signal (no program runs), x11 and unknown requests, and ssh-agent forwarding (turned
//     off) are refused.
//
// Requests that would start a program are sent only when they are malformed, and must
// then be refused: an exec or subsystem payload that is not exactly one string, a
// shell with a payload. A subsystem request naming anything but sftp is sent too, and
// must be refused.
func FuzzSessionRequests(f *testing.F) {
	for _, seed := range sessionRequestSeeds(f) {
		f.Add(seed)
	}
	client := fuzzClient(f)
	f.Fuzz(func(t *testing.T, script []byte) {
		var ch ssh.Channel
		var reqs <-chan *ssh.Request
		within(t, "open a session", func() {
			var err error
			if ch, reqs, err = client.OpenChannel("session", nil); err != nil {
				t.Errorf("open a session: %v", err)
			}
		})
		if ch == nil {
			return
		}
		var st sessionScriptState
		for i, rec := range splitRecords(script, len(sessionRequestKinds)) {
			st.send(t, ch, i, rec)
			if t.Failed() {
				break
			}
		}
		_ = ch.Close() // the server may have closed it already
		within(t, "close the session", func() {
			for range reqs { // closed once the server has closed its side
			}
		})
		checkConnectionAlive(t, client)
	})
}

// sessionRecord is a script record sending the named session request with fields
// marshalled as its payload (none when nil).
func sessionRecord(tb testing.TB, name string, fields any) fuzzRecord {
	var payload []byte
	if fields != nil {
		payload = ssh.Marshal(fields)
	}
	for i, k := range sessionRequestKinds {
		if k.name == name {
			return fuzzRecord{i, payload}
		}
	}
	tb.Fatalf("no session request kind %q", name)
	return fuzzRecord{}
}

// openSSHModes are the terminal modes OpenSSH's ssh -t sends.
var openSSHModes = string([]byte{
	1, 0, 0, 0, 3, 2, 0, 0, 0, 28, 3, 0, 0, 0, 127, 4, 0, 0, 0, 21, 5, 0, 0, 0, 4,
	8, 0, 0, 0, 17, 9, 0, 0, 0, 19, 10, 0, 0, 0, 26, 36, 0, 0, 0, 1, 42, 0, 0, 0, 1,
	50, 0, 0, 0, 1, 51, 0, 0, 0, 1, 53, 0, 0, 0, 1, 72, 0, 0, 0, 1,
	128, 0, 0, 0x96, 0, 129, 0, 0, 0x96, 0, 0})

// sessionRequestSeeds are FuzzSessionRequests's seed scripts: what OpenSSH's ssh -t
// sends for `LANG=C.UTF-8 LC_ALL=de_DE.UTF-8 ssh -t host` (SendEnv LANG LC_* in
// Debian's ssh_config) and the Go client's pty-req, malformed and repeated requests,
// and more env requests than a session takes.
func sessionRequestSeeds(tb testing.TB) [][]byte {
	req := func(name string, fields any) fuzzRecord { return sessionRecord(tb, name, fields) }
	type kv struct{ Name, Value string }
	type size struct{ Cols, Rows, Width, Height uint32 }
	pty := ptyRequest{"xterm-256color", 80, 24, 640, 480, openSSHModes}
	var many []fuzzRecord
	for range maxClientEnv + 2 {
		many = append(many, req("env", kv{"LC_X", "y"}))
	}
	return [][]byte{
		joinRecords(
			req("env", kv{"LANG", "C.UTF-8"}),
			req("env", kv{"LC_ALL", "de_DE.UTF-8"}),
			req("env", kv{"PATH", "/evil"}),
			req("pty-req", pty),
			req("window-change", size{120, 40, 0, 0}),
			req("signal", struct{ Name string }{"INT"}),
			req("auth-agent-req@openssh.com", nil),
			req("x11-req", struct {
				Single        bool
				Proto, Cookie string
				Screen        uint32
			}{false, "MIT-MAGIC-COOKIE-1", "0123456789abcdef", 0}),
		),
		joinRecords(
			req("window-change", size{1, 1, 1, 1}),
			req("pty-req", pty),
			req("pty-req", pty),
			req("env", kv{"LC_=", "x"}),
			req("env", kv{"LANG", "a\x00b"}),
			req("exec", struct{ A, B string }{"id", "extra"}),
			req("subsystem", struct{ Name string }{"no-such-subsystem"}),
			req("shell", struct{ Junk uint32 }{1}),
			req("break", struct{ Ms uint32 }{500}),
		),
		joinRecords(many...),
	}
}

// sessionScriptState is what a script's session has accepted so far.
type sessionScriptState struct {
	envs int  // env requests accepted
	pty  bool // a pty-req was accepted
}

// send sends record i of a script on ch, unless it would start a program, and checks
// that the server accepted it only if it may.
func (st *sessionScriptState) send(t *testing.T, ch ssh.Channel, i int, rec fuzzRecord) {
	k := sessionRequestKinds[rec.kind]
	strs, _, wellFormed := wireFields(rec.payload, k.spec)
	if startsProgram(k.name, rec.payload, strs, wellFormed) {
		return
	}
	var ok bool
	within(t, k.name, func() {
		var err error
		if ok, err = ch.SendRequest(k.name, true, rec.payload); err != nil {
			t.Errorf("request %d (%s): %v", i, k.name, err)
		}
	})
	if t.Failed() {
		return
	}
	var want bool // what the server may accept
	switch k.name {
	case "env":
		want = wellFormed && acceptableEnv(strs[0], strs[1]) && st.envs < maxClientEnv
		if ok {
			st.envs++
		}
	case "pty-req":
		want = wellFormed && !st.pty
		if ok {
			st.pty = true
		}
	case "window-change":
		want = wellFormed && st.pty
	}
	if ok && !want {
		t.Errorf("request %d (%s, payload %q): accepted, want refused", i, k.name, rec.payload)
	}
}

// startsProgram reports whether the request would start a program, which the fuzzer
// does not send: a well-formed exec, a subsystem request for sftp, an empty shell.
func startsProgram(name string, payload []byte, strs []string, wellFormed bool) bool {
	switch name {
	case "exec":
		return wellFormed
	case "subsystem":
		return wellFormed && strs[0] == "sftp"
	case "shell":
		return len(payload) == 0
	}
	return false
}

// acceptableEnv is the default AcceptEnv (LANG, LC_*) with the rules that keep a second
// variable or a NUL out of the environment, written out here as the reference.
func acceptableEnv(name, value string) bool {
	if name == "" || strings.ContainsAny(name, "=\x00") || strings.Contains(value, "\x00") {
		return false
	}
	return name == "LANG" || strings.HasPrefix(name, "LC_")
}
