//go:build !linux

package proxy

import "io"

// rawStdio leaves stdin and stdout as they are outside Linux.
func rawStdio(stdin io.Reader, stdout io.Writer) (io.Reader, io.Writer) {
	return stdin, stdout
}
