package agent

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestFileEventsAreTheUsersClaims: an event line on descriptor 3 comes from a program
// that runs as the user (who may ptrace it or write the line from any program), so every
// file.* event says so, and what it claims is clipped like any client string.
func TestFileEventsAreTheUsersClaims(t *testing.T) {
	t.Parallel()
	longPath := "/" + strings.Repeat("p", 10_000)
	input := `{"event":"file.remove","path":"/h/real"}` + "\n" +
		`{"event":"file.rename","path":"` + longPath + `","new_path":"` + longPath + `","err":"` + strings.Repeat("e", 5000) + `"}` + "\n"
	var out jsonLog
	log := slog.New(slog.NewJSONHandler(&out, nil)).With("remote", "192.0.2.1:5000", "user", "tester")
	logProgramLines(io.NopCloser(strings.NewReader(input)), log)
	removed := out.find(t, "file.remove", map[string]any{"path": "/h/real"})
	if removed == nil || removed["reported_by"] != "user_process" {
		t.Errorf("file.remove = %v, want reported_by user_process", removed)
	}
	renamed := out.find(t, "file.rename", map[string]any{"reported_by": "user_process"})
	if renamed == nil {
		t.Fatalf("no file.rename record:\n%.2000s", out.String())
	}
	for field, max := range map[string]int{"path": logPathMax, "new_path": logPathMax, "err": logTextMax} {
		v, _ := renamed[field].(string)
		if len(v) > max+40 || !strings.Contains(v, "clipped") {
			t.Errorf("file.rename %s is %d bytes (%.80q...), want it clipped to about %d", field, len(v), v, max)
		}
	}
}

// testConnection is a connection of srv (with no transport) logging to out.
func testConnection(srv *Server, out io.Writer) *connection {
	return newConnection(srv, nil, slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func TestAcceptEnvBounds(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	srv.cfg.AcceptEnv = []string{"LANG", "LC_*"}
	sess := func(c *connection) *session { return &session{srv: srv, conn: c, log: c.log} }
	tests := []struct {
		name string
		// prior fills the session first with these values (names LC_*); then
		// variable=value is sent.
		prior           []string
		variable, value string
		want            bool
	}{
		{name: "short", variable: "LANG", value: "C.UTF-8", want: true},
		{name: "longest value", variable: "LC_ALL", value: strings.Repeat("v", maxClientEnvValue), want: true},
		{name: "value too long", variable: "LC_ALL", value: strings.Repeat("v", maxClientEnvValue+1), want: false},
		{name: "not in --accept-env", variable: "NOT_ACCEPTED", value: "x", want: false},
		{name: "too many", prior: make([]string, maxClientEnv), variable: "LANG", value: "x", want: false},
		{name: "session full", prior: []string{strings.Repeat("v", 4000), strings.Repeat("v", 4000), strings.Repeat("v", 4000), strings.Repeat("v", 4000)},
			variable: "LANG", value: strings.Repeat("v", 500), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConnection(srv, io.Discard)
			s := sess(c)
			for i, v := range tt.prior {
				if !s.acceptEnv(fmt.Sprintf("LC_%d", i), v) {
					t.Fatalf("prior variable %d refused", i)
				}
			}
			if got := s.acceptEnv(tt.variable, tt.value); got != tt.want {
				t.Errorf("%s=<%d bytes> after %d variables: got %v, want %v", tt.variable, len(tt.value), len(tt.prior), got, tt.want)
			}
			if s.clientEnvBytes > maxClientEnvBytes || c.envBytes != s.clientEnvBytes {
				t.Errorf("session holds %d bytes, connection counts %d, want equal and at most %d", s.clientEnvBytes, c.envBytes, maxClientEnvBytes)
			}
		})
	}
}

// TestAcceptEnvConnectionBudget: the sessions of one connection together hold at most
// maxConnectionEnvBytes of client variables, and a session that ends gives its share
// back.
func TestAcceptEnvConnectionBudget(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	srv.cfg.AcceptEnv = []string{"LC_*"}
	c := testConnection(srv, io.Discard)
	value := strings.Repeat("v", maxClientEnvValue-10)
	var sessions []*session
	accepted := 0
	for range 2 * maxConnectionEnvBytes / maxClientEnvBytes {
		s := &session{srv: srv, conn: c, log: c.log}
		sessions = append(sessions, s)
		for i := range maxClientEnvBytes / maxClientEnvValue {
			if s.acceptEnv("LC_"+string(rune('A'+i)), value) {
				accepted += len(value) + 5
			}
		}
	}
	if accepted > maxConnectionEnvBytes || c.envBytes != accepted {
		t.Fatalf("the connection holds %d bytes (counted %d), want at most %d", accepted, c.envBytes, maxConnectionEnvBytes)
	}
	if accepted < maxConnectionEnvBytes-maxClientEnvBytes {
		t.Fatalf("the connection holds only %d bytes, want close to %d", accepted, maxConnectionEnvBytes)
	}
	c.releaseEnvBytes(sessions[0].clientEnvBytes)
	s := &session{srv: srv, conn: c, log: c.log}
	if !s.acceptEnv("LC_NEW", value) {
		t.Errorf("a new session's variable is refused after another session gave its share back")
	}
}

func TestBoundTerminalRequest(t *testing.T) {
	t.Parallel()
	p := ptyRequest{Term: "xterm-256color", Modes: strings.Repeat("\x01\x00\x00\x00\x03", 10_000)}
	if err := boundTerminalRequest(&p); err != nil {
		t.Errorf("a long mode list: %v, want it accepted and cut", err)
	}
	if len(p.Modes) != maxTerminalModes {
		t.Errorf("modes kept: %d bytes, want %d", len(p.Modes), maxTerminalModes)
	}
	p = ptyRequest{Term: strings.Repeat("x", maxTermName+1)}
	if err := boundTerminalRequest(&p); err == nil {
		t.Errorf("a TERM of %d bytes was accepted", len(p.Term))
	}
}

// TestLogNoise: one connection writes noiseLinesPerConnection lines of a kind, and
// counts them all for connection.close.
func TestLogNoise(t *testing.T) {
	t.Parallel()
	var out jsonLog
	c := testConnection(testServer(t), &out)
	for range 1000 {
		c.logNoise(noiseEnv, slog.LevelInfo, "ignored client variable")
	}
	c.logNoise(noiseChannel, slog.LevelInfo, "refused channel")
	if got := len(out.records(t)); got != noiseLinesPerConnection+1 {
		t.Errorf("logged %d lines, want %d:\n%s", got, noiseLinesPerConnection+1, out.String())
	}
	attrs := c.noiseAttrs()
	want := []any{"env_ignored", 1000, "channels_refused", 1}
	if len(attrs) != len(want) || attrs[0] != want[0] || attrs[1] != want[1] || attrs[2] != want[2] || attrs[3] != want[3] {
		t.Errorf("noiseAttrs = %v, want %v", attrs, want)
	}
}

func TestForwardNameBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		check   func() error
		wantErr bool
	}{
		{name: "longest host", check: func() error { return checkForwardHost(forwardDirectTCP, strings.Repeat("h", maxForwardHost)) }},
		{name: "host too long", check: func() error { return checkForwardHost(forwardRemoteTCP, strings.Repeat("h", maxForwardHost+1)) }, wantErr: true},
		{name: "longest socket path", check: func() error { return checkSocketPath(forwardDirectUnix, "/"+strings.Repeat("p", maxSocketPath-1)) }},
		{name: "socket path too long", check: func() error { return checkSocketPath(forwardRemoteUnix, "/"+strings.Repeat("p", maxSocketPath)) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
			if err != nil && len(err.Error()) > logTextMax {
				t.Errorf("the error repeats the name: %d bytes", len(err.Error()))
			}
		})
	}
}
