// Command pkgsftp is github.com/pkg/sftp's SFTP server (v1.13.12, sftp.NewServer with
// its defaults) on stdin/stdout, to be named as OpenSSH's `Subsystem sftp` program. It
// exists only so that bench/sftp-subsystems.sh can compare it with `jobsshd sftp-server`
// and OpenSSH's sftp-server under the same sshd. It is its own module so that jobsshd
// does not depend on pkg/sftp.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/pkg/sftp"
)

// stdio is the subsystem's channel as sshd hands it over: requests on stdin, responses
// on stdout.
type stdio struct {
	io.Reader
	io.WriteCloser
}

func main() {
	server, err := sftp.NewServer(stdio{os.Stdin, os.Stdout})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pkgsftp: start the pkg/sftp server: %v\n", err)
		os.Exit(1)
	}
	if err := server.Serve(); err != nil && err != io.EOF {
		fmt.Fprintf(os.Stderr, "pkgsftp: serve: %v\n", err)
		os.Exit(1)
	}
}
