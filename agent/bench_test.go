package agent

import (
	"io"
	"net"
	"strconv"
	"testing"
)

// BenchmarkExecUpload streams data into `cat > /dev/null` over one session: the
// channel-to-program path every upload (exec, scp, sftp) crosses. Run with -cpuprofile
// to see where the server's time goes; compare.sh measures it against OpenSSH.
func BenchmarkExecUpload(b *testing.B) {
	benchmarkExec(b, "cat > /dev/null", func(s sessionIO) error {
		buf := make([]byte, 256<<10)
		for i := 0; i < b.N; i++ {
			if _, err := s.stdin.Write(buf); err != nil {
				return err
			}
		}
		return s.stdin.Close()
	}, 256<<10)
}

// BenchmarkExecDownload streams data out of `cat /dev/zero`-like output.
func BenchmarkExecDownload(b *testing.B) {
	benchmarkExec(b, "", func(s sessionIO) error {
		_, err := io.CopyN(io.Discard, s.stdout, int64(b.N)*(256<<10))
		return err
	}, 256<<10)
}

type sessionIO struct {
	stdin  io.WriteCloser
	stdout io.Reader
}

func benchmarkExec(b *testing.B, command string, drive func(sessionIO) error, bytesPerOp int64) {
	srv, signer := startTestServer(b)
	client, err := dial(b, srv, "tester", signer)
	if err != nil {
		b.Fatal(err)
	}
	s, err := client.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	stdin, _ := s.StdinPipe()
	stdout, _ := s.StdoutPipe()
	if command == "" {
		command = "head -c " + strconv.FormatInt(int64(b.N)*bytesPerOp, 10) + " /dev/zero"
	}
	if err := s.Start(command); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(bytesPerOp)
	b.ResetTimer()
	if err := drive(sessionIO{stdin, stdout}); err != nil {
		b.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkExecShort runs `true` in a new session per operation, on one connection:
// what a loop of `ssh host cmd` or a busy job scheduler costs. With -benchmem, B/op
// shows the buffers each session's copy loops take (client and server share the
// process, so the figure includes the client's side).
func BenchmarkExecShort(b *testing.B) {
	srv, signer := startTestServer(b)
	client, err := dial(b, srv, "tester", signer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := client.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("true"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkForwardUpload pushes data through a direct-tcpip channel (ssh -L) into a
// socket that discards it: the forward's copy loop on the receive path.
func BenchmarkForwardUpload(b *testing.B) {
	srv, signer := startTestServer(b)
	client := dialClient(b, srv, signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	c, err := client.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
