package agent

import (
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
)

// forwardRequestKinds are the global requests (RFC 4254 §4, §7.1; OpenSSH PROTOCOL
// §2.4) and channel opens (§7.2, PROTOCOL §2.4) FuzzForwardRequests sends.
var forwardRequestKinds = []struct {
	name    string
	channel bool   // a channel open, else a global request
	spec    string // wireFields spec of a well-formed payload
}{
	{"tcpip-forward", false, "su"},
	{"cancel-tcpip-forward", false, "su"},
	{"streamlocal-forward@openssh.com", false, "s"},
	{"cancel-streamlocal-forward@openssh.com", false, "s"},
	{"keepalive@openssh.com", false, ""},
	{"no-more-sessions@openssh.com", false, ""},
	{"direct-tcpip", true, "susu"},
	{"direct-streamlocal@openssh.com", true, "ssu"},
	{"forwarded-tcpip", true, "susu"},
	{"x11", true, "su"},
	{"auth-agent@openssh.com", true, ""},
	{"no-such-channel@example.com", true, "s"},
}

// FuzzForwardRequests sends scripts of forwarding requests and channel opens with
// arbitrary payloads to a server whose forwarding is turned off, over a real SSH
// connection, and checks what the client can see:
//   - every global request and channel open is answered, and the connection outlives
//     the script;
//   - no global request succeeds, and no channel but "session" opens: a server that
//     refuses forwarding never dials, listens or connects for any payload;
//   - a well-formed direct-tcpip or direct-streamlocal (with a socket path) is refused
//     as "administratively prohibited", the reason clients report as a policy refusal.
func FuzzForwardRequests(f *testing.F) {
	for _, seed := range forwardRequestSeeds(f) {
		f.Add(seed)
	}
	client := fuzzClient(f)
	f.Fuzz(func(t *testing.T, script []byte) {
		for i, rec := range splitRecords(script, len(forwardRequestKinds)) {
			checkForwardRecord(t, client, i, rec)
			if t.Failed() {
				break
			}
		}
		checkConnectionAlive(t, client)
	})
}

// forwardRecord is a script record sending the named request or channel open with
// fields marshalled as its payload (none when nil).
func forwardRecord(tb testing.TB, name string, fields any) fuzzRecord {
	var payload []byte
	if fields != nil {
		payload = ssh.Marshal(fields)
	}
	for i, k := range forwardRequestKinds {
		if k.name == name {
			return fuzzRecord{i, payload}
		}
	}
	tb.Fatalf("no forward request kind %q", name)
	return fuzzRecord{}
}

// forwardRequestSeeds are FuzzForwardRequests's seed scripts.
func forwardRequestSeeds(tb testing.TB) [][]byte {
	type hostPort struct {
		Host string
		Port uint32
	}
	type path struct{ Path string }
	type tcpipChannel struct { // direct-tcpip and forwarded-tcpip, RFC 4254 §7.1-7.2
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	type streamlocalChannel struct { // direct-streamlocal@openssh.com, PROTOCOL §2.4
		Path, Reserved string
		ReservedPort   uint32
	}
	return [][]byte{
		// What ssh -L 8080:localhost:80, -L 8081:/run/app.sock, -R 0:localhost:22,
		// -R /tmp/s:localhost:22 and -D send, as OpenSSH 9.2's client builds them.
		joinRecords(
			forwardRecord(tb, "tcpip-forward", hostPort{"localhost", 0}),
			forwardRecord(tb, "cancel-tcpip-forward", hostPort{"localhost", 8022}),
			forwardRecord(tb, "streamlocal-forward@openssh.com", path{"/tmp/s"}),
			forwardRecord(tb, "cancel-streamlocal-forward@openssh.com", path{"/tmp/s"}),
			forwardRecord(tb, "keepalive@openssh.com", nil),
			forwardRecord(tb, "direct-tcpip", tcpipChannel{"localhost", 80, "127.0.0.1", 50000}),
			forwardRecord(tb, "direct-streamlocal@openssh.com", streamlocalChannel{"/run/app.sock", "", 0}),
			forwardRecord(tb, "direct-tcpip", tcpipChannel{"::1", 65536, "", 0}),
		),
		joinRecords(
			forwardRecord(tb, "tcpip-forward", hostPort{"", 65535}),
			forwardRecord(tb, "streamlocal-forward@openssh.com", path{""}),
			forwardRecord(tb, "direct-streamlocal@openssh.com", streamlocalChannel{"", "", 0}),
			forwardRecord(tb, "forwarded-tcpip", tcpipChannel{"0.0.0.0", 22, "10.0.0.1", 1}),
			forwardRecord(tb, "x11", hostPort{"127.0.0.1", 6000}),
			forwardRecord(tb, "auth-agent@openssh.com", nil),
			forwardRecord(tb, "no-more-sessions@openssh.com", nil),
		),
	}
}

// checkForwardRecord sends record i of a script and checks the answer: a global request
// fails, a channel open is refused, as "administratively prohibited" when it is a
// well-formed direct-tcpip or direct-streamlocal with a socket path.
func checkForwardRecord(t *testing.T, client *ssh.Client, i int, rec fuzzRecord) {
	k := forwardRequestKinds[rec.kind]
	strs, _, wellFormed := wireFields(rec.payload, k.spec)
	if !k.channel {
		within(t, k.name, func() {
			ok, _, err := client.SendRequest(k.name, true, rec.payload)
			switch {
			case err != nil:
				t.Errorf("request %d (%s): %v", i, k.name, err)
			case ok:
				t.Errorf("request %d (%s, payload %q): succeeded with forwarding off", i, k.name, rec.payload)
			}
		})
		return
	}
	within(t, k.name, func() {
		ch, _, err := client.OpenChannel(k.name, rec.payload)
		if err == nil {
			_ = ch.Close() // refused below; the close may cross the server's
			t.Errorf("open %d (%s, payload %q): opened with forwarding off", i, k.name, rec.payload)
			return
		}
		var oce *ssh.OpenChannelError
		if !errors.As(err, &oce) {
			t.Errorf("open %d (%s): got %v, want a channel open failure", i, k.name, err)
			return
		}
		prohibited := wellFormed && (k.name == "direct-tcpip" || k.name == "direct-streamlocal@openssh.com" && strs[0] != "")
		if prohibited && oce.Reason != ssh.Prohibited {
			t.Errorf("open %d (%s, payload %q): got %v, want administratively prohibited", i, k.name, rec.payload, oce)
		}
	})
}
