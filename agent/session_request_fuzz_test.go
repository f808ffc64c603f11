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
	kind := func(name string) int {
		for i, k := range sessionRequestKinds {
			if k.name == name {
				return i
			}
		}
		f.Fatalf("no session request kind %q", name)
		return 0
	}
	req := func(name string, fields any) fuzzRecord {
		var payload []byte
		if fields != nil {
			payload = ssh.Marshal(fields)
		}
		return fuzzRecord{kind(name), payload}
	}
	type kv struct{ Name, Value string }
	// What OpenSSH's ssh -t sends for `LANG=C.UTF-8 LC_ALL=de_DE.UTF-8 ssh -t host`
	// (SendEnv LANG LC_* in Debian's ssh_config), and the Go client's pty-req.
	openSSHModes := string([]byte{
		1, 0, 0, 0, 3, 2, 0, 0, 0, 28, 3, 0, 0, 0, 127, 4, 0, 0, 0, 21, 5, 0, 0, 0, 4,
		8, 0, 0, 0, 17, 9, 0, 0, 0, 19, 10, 0, 0, 0, 26, 36, 0, 0, 0, 1, 42, 0, 0, 0, 1,
		50, 0, 0, 0, 1, 51, 0, 0, 0, 1, 53, 0, 0, 0, 1, 72, 0, 0, 0, 1,
		128, 0, 0, 0x96, 0, 129, 0, 0, 0x96, 0, 0})
	pty := struct {
		Term                      string
		Cols, Rows, Width, Height uint32
		Modes                     string
	}{"xterm-256color", 80, 24, 640, 480, openSSHModes}
	f.Add(joinRecords(
		req("env", kv{"LANG", "C.UTF-8"}),
		req("env", kv{"LC_ALL", "de_DE.UTF-8"}),
		req("env", kv{"PATH", "/evil"}),
		req("pty-req", pty),
		req("window-change", struct{ Cols, Rows, Width, Height uint32 }{120, 40, 0, 0}),
		req("signal", struct{ Name string }{"INT"}),
		req("auth-agent-req@openssh.com", nil),
		req("x11-req", struct {
			Single        bool
			Proto, Cookie string
			Screen        uint32
		}{false, "MIT-MAGIC-COOKIE-1", "0123456789abcdef", 0}),
	))
	f.Add(joinRecords(
		req("window-change", struct{ Cols, Rows, Width, Height uint32 }{1, 1, 1, 1}),
		req("pty-req", pty),
		req("pty-req", pty),
		req("env", kv{"LC_=", "x"}),
		req("env", kv{"LANG", "a\x00b"}),
		req("exec", struct{ A, B string }{"id", "extra"}),
		req("subsystem", struct{ Name string }{"no-such-subsystem"}),
		req("shell", struct{ Junk uint32 }{1}),
		req("break", struct{ Ms uint32 }{500}),
	))
	var many []fuzzRecord
	for range maxClientEnv + 2 {
		many = append(many, req("env", kv{"LC_X", "y"}))
	}
	f.Add(joinRecords(many...))
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
		var envs int
		var pty bool
		for i, rec := range splitRecords(script, len(sessionRequestKinds)) {
			k := sessionRequestKinds[rec.kind]
			strs, _, wellFormed := wireFields(rec.payload, k.spec)
			switch k.name {
			case "exec":
				if wellFormed {
					continue // it would run a program
				}
			case "subsystem":
				if wellFormed && strs[0] == "sftp" {
					continue
				}
			case "shell":
				if len(rec.payload) == 0 {
					continue
				}
			}
			var ok bool
			within(t, k.name, func() {
				var err error
				if ok, err = ch.SendRequest(k.name, true, rec.payload); err != nil {
					t.Errorf("request %d (%s): %v", i, k.name, err)
				}
			})
			if t.Failed() {
				break
			}
			var want bool // what the server may accept
			switch k.name {
			case "env":
				want = wellFormed && acceptableEnv(strs[0], strs[1]) && envs < maxClientEnv
				if ok {
					envs++
				}
			case "pty-req":
				want = wellFormed && !pty
				if ok {
					pty = true
				}
			case "window-change":
				want = wellFormed && pty
			}
			if ok && !want {
				t.Errorf("request %d (%s, payload %q): accepted, want refused", i, k.name, rec.payload)
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

// acceptableEnv is the default AcceptEnv (LANG, LC_*) with the rules that keep a second
// variable or a NUL out of the environment, written out here as the reference.
func acceptableEnv(name, value string) bool {
	if name == "" || strings.ContainsAny(name, "=\x00") || strings.Contains(value, "\x00") {
		return false
	}
	return name == "LANG" || strings.HasPrefix(name, "LC_")
}
