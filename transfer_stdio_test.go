//go:build linux

package main

import (
	"bytes"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTransferGivesBackBlockingStdio: sftp-server and scp, run from a shell or as
// OpenSSH's subsystem, leave stdin and stdout blocking as they found them, for whoever
// shares them after (the next command of `(jobsshd scp -f x; cat) | ...`).
func TestTransferGivesBackBlockingStdio(t *testing.T) {
	home := t.TempDir()
	runs := map[string]func(stdin, stdout *os.File, stderr *bytes.Buffer) int{
		"sftp-server": func(stdin, stdout *os.File, stderr *bytes.Buffer) int {
			return sftpServer(nil, stdin, stdout, stderr, func(k string) string {
				if k == "HOME" {
					return home
				}
				return ""
			})
		},
		"scp": func(stdin, stdout *os.File, stderr *bytes.Buffer) int {
			return scpServer([]string{"scp -t " + home}, stdin, stdout, stderr)
		},
	}
	for name, run := range runs {
		var in, out [2]int
		if err := unix.Pipe2(in[:], unix.O_CLOEXEC); err != nil { // blocking, as inherited
			t.Fatal(err)
		}
		if err := unix.Pipe2(out[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		inR, inW := os.NewFile(uintptr(in[0]), "in-r"), os.NewFile(uintptr(in[1]), "in-w")
		outR, outW := os.NewFile(uintptr(out[0]), "out-r"), os.NewFile(uintptr(out[1]), "out-w")
		inW.Close() // the client is gone at once: the server ends
		var stderr bytes.Buffer
		run(inR, outW, &stderr)
		for _, fd := range []int{in[0], out[1]} {
			fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			if err != nil || fl&unix.O_NONBLOCK != 0 {
				t.Errorf("%s left descriptor %d non-blocking (%v) for whoever shares it; stderr %q", name, fd, err, stderr.String())
			}
		}
		inR.Close()
		outR.Close()
		outW.Close()
	}
}
