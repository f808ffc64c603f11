//go:build !linux

package rawio

import (
	"io"
	"net"
	"os"
)

// Outside Linux (where only `jobsshd proxy` runs) everything is left as it is.

// Reader returns r.
func Reader(r io.Reader) io.Reader { return r }

// Writer returns w.
func Writer(w io.Writer) io.Writer { return w }

// NetConn returns c.
func NetConn(c net.Conn) net.Conn { return c }

// Stdio returns stdin and stdout.
func Stdio(stdin io.Reader, stdout io.Writer) (io.Reader, io.Writer) { return stdin, stdout }

// ReadAt is f.ReadAt.
func ReadAt(f *os.File, p []byte, off int64) (int, error) { return f.ReadAt(p, off) }

// CloseStdio does nothing: Stdio made nothing to close.
func CloseStdio(stdin io.Reader, stdout io.Writer) {}

// PipeReader returns r.
func PipeReader(r io.Reader) io.Reader { return r }

// PipeWriter returns w.
func PipeWriter(w io.Writer) io.Writer { return w }
