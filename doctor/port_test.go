package doctor

import (
	"net"
	"testing"

	"jobsshd/agent"
)

func TestCheckPort(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	taken := held.Addr().(*net.TCPAddr).Port

	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	if err := free.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		port     int
		strictBy string
		wantSub  string
		wantSev  Severity
		wantFix  string
	}{
		{name: "free", port: freePort, wantSub: "is free on 127.0.0.1", wantSev: OK},
		{name: "random", port: 0, wantSub: "random free port", wantSev: Info},
		{name: "taken", port: taken, wantSub: "will use a random free port unless --strict-port", wantSev: Warn, wantFix: "free port"},
		{name: "taken and strict", port: taken, strictBy: "--strict-port is set", wantSub: "--strict-port is set", wantSev: Fail, wantFix: "drop --strict-port"},
		{name: "taken under job trust", port: taken, strictBy: "job trust makes the port strict", wantSub: "job trust makes the port strict: jobsshd will not start",
			wantSev: Fail, wantFix: "free on every worker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			checkPort(r, agent.PortPolicy{Bind: "127.0.0.1", Port: tt.port, Strict: tt.strictBy != "", StrictBy: tt.strictBy})
			want(t, r, only(t, r, tt.wantSub), tt.wantSev, tt.wantFix)
		})
	}
}
