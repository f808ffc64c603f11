package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Bounds on the names a forwarding request carries, checked before anything else
// (policy, log, dial): a client may send up to a packet's worth (256 KB) in each.
const (
	// maxForwardHost is the longest host a forward may name: a DNS name has at most
	// 253 characters (RFC 1035 §2.3.4, 255 octets on the wire), an address fewer.
	maxForwardHost = 255
	// maxSocketPath is the longest socket path a forward may name: the kernel's
	// PATH_MAX; connect and bind fail on longer ones anyway.
	maxSocketPath = unix.PathMax
)

// checkForwardHost refuses a host no DNS name or address can be.
func checkForwardHost(kind forwardKind, host string) error {
	if len(host) > maxForwardHost {
		return fmt.Errorf("%s: host name of %d bytes, longer than %d", kind, len(host), maxForwardHost)
	}
	return nil
}

// checkSocketPath refuses a socket path longer than a path can be.
func checkSocketPath(kind forwardKind, path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("%s: socket path of %d bytes, longer than %d", kind, len(path), maxSocketPath)
	}
	return nil
}
